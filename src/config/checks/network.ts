// IP addresses, CIDR blocks, ports and host names as Istio's validation accepts them.
import { isIPv4, isIPv6 } from 'node:net';
import { dns1123LabelProblem } from './names.js';

/** Why `v` is not an IPv4/IPv6 address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`), or undefined. */
export function cidrProblem(v: string): string | undefined {
  const parts = v.split('/');
  if (parts.length > 2) return 'more than one "/"';
  const [address, prefix] = parts as [string, string | undefined];
  const bits = ipBits(address);
  if (bits === undefined) {
    if (address.includes('%')) return 'IPv6 zones ("%...") are not allowed';
    return 'not an IPv4 or IPv6 address or CIDR block (e.g. "10.0.0.0/8", "2001:db8::/32")';
  }
  if (prefix === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > bits) {
    return `the prefix length must be a number from 0 to ${bits}`;
  }
  return undefined;
}

/** 32 for an IPv4 address, 128 for an IPv6 address (without a zone), undefined otherwise. */
export function ipBits(address: string): 32 | 128 | undefined {
  if (isIPv4(address)) return 32;
  if (isIPv6(address) && !address.includes('%')) return 128;
  return undefined;
}

/** Why the port text (`"8080"`, as in `ports`/`notPorts`) is not a port number 1-65535. */
export function portStringProblem(v: string): string | undefined {
  if (!/^[0-9]+$/.test(v)) return 'must be a port number from 1 to 65535 written as digits (no wildcards or ranges)';
  return portNumberProblem(Number(v));
}

/** Why `n` is not a port number 1-65535. */
export function portNumberProblem(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 1 || n > 65535) return 'must be a port number from 1 to 65535';
  return undefined;
}

const DNS_LABEL = /^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$/;

/**
 * Why `v` is not a host as VirtualService, DestinationRule and ServiceEntry name them: a DNS name
 * (short `reviews` or fully qualified), optionally with a leading `*.` wildcard, `*` alone, or (when
 * `allowIp`) an IP address.
 */
export function hostProblem(v: string, allowIp = false): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v === '*') return undefined;
  if (allowIp && ipBits(v) !== undefined) return undefined;
  if (v.length > 255) return 'must be at most 255 characters';
  const name = v.startsWith('*.') ? v.slice(2) : v;
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  for (const label of trimmed.split('.')) {
    if (label.includes('*')) return 'a wildcard is allowed only as the whole first label ("*.example.com")';
    if (label.length === 0 || label.length > 63 || !DNS_LABEL.test(label)) {
      return `label ${JSON.stringify(label)} must be 1-63 letters, digits, "-" or "_", starting and ending with a letter or digit`;
    }
  }
  return undefined;
}

/** Why `v` is not a Gateway server host: `[namespace/]host`, where namespace is `*`, `.` or a namespace name. */
export function gatewayHostProblem(v: string): string | undefined {
  const slash = v.indexOf('/');
  if (slash !== -1) {
    const ns = v.slice(0, slash);
    if (ns !== '*' && ns !== '.' && dns1123LabelProblem(ns) !== undefined) {
      return `namespace part ${JSON.stringify(ns)} must be "*", "." or a namespace name`;
    }
    return hostProblem(v.slice(slash + 1));
  }
  return hostProblem(v);
}

/** Why `v` is not an `exportTo` entry: `*` (all namespaces), `.` (this one), `~` (none) or a namespace name. */
export function exportToProblem(v: string): string | undefined {
  if (v === '*' || v === '.' || v === '~') return undefined;
  const p = dns1123LabelProblem(v);
  return p === undefined ? undefined : `must be "*", ".", "~" or a namespace name: ${p}`;
}

/** Why `v` is not a `[namespace/]host` reference to a Service (extension providers). */
export function serviceRefProblem(v: string): string | undefined {
  const slash = v.indexOf('/');
  if (slash === -1) return hostProblem(v);
  const ns = v.slice(0, slash);
  const p = dns1123LabelProblem(ns);
  if (p !== undefined) return `namespace part ${JSON.stringify(ns)}: ${p}`;
  const host = v.slice(slash + 1);
  return host === '*' ? 'must name one host, not "*"' : hostProblem(host);
}

/** Why `v` is not a VirtualService gateway reference: `mesh` or `[namespace/]gateway-name`. */
export function gatewayRefProblem(v: string): string | undefined {
  if (v === 'mesh') return undefined;
  const slash = v.indexOf('/');
  const ns = slash === -1 ? undefined : v.slice(0, slash);
  const name = slash === -1 ? v : v.slice(slash + 1);
  if (ns !== undefined && dns1123LabelProblem(ns) !== undefined) return `namespace part ${JSON.stringify(ns)} must be a namespace name`;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) return 'must be "mesh" or "[namespace/]name" of a Gateway';
  return undefined;
}
