// What an application asked for, turned into a host and a port: `reviews`, `reviews.default`,
// `reviews.default.svc.cluster.local`, with or without `:port`, a trailing dot, any case, or an
// IP literal (`[::1]:8080`). Total: any string gives an answer, malformed text a reason.

/** The longest authority looked at; Envoy's own host header limit is far above any real name. */
export const MAX_AUTHORITY_LENGTH = 1024;

export interface ParsedAuthority {
  /** Lower case, without the trailing dot; an IPv6 literal without brackets, in canonical form. */
  readonly host: string;
  readonly port: number | undefined;
  readonly ip: boolean;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Splits an authority (`host[:port]`, `[v6][:port]`) into its host and port, or says why it is
 * not one: empty, too long, a bad port, characters no host name has.
 * @example parseAuthority('Reviews.Default.:9080') → { host: 'reviews.default', port: 9080, ip: false }
 */
export function parseAuthority(authority: string): ParsedAuthority | string {
  if (authority.length === 0) return 'the authority is empty';
  if (authority.length > MAX_AUTHORITY_LENGTH) return `the authority is longer than ${MAX_AUTHORITY_LENGTH} characters`;
  let hostPart = authority;
  let portPart: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return 'the IPv6 literal has no closing "]"';
    hostPart = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return 'unexpected text after the IPv6 literal';
      portPart = rest.slice(1);
    }
    const v6 = canonicalIpv6(hostPart);
    if (v6 === undefined) return 'not an IPv6 address between the brackets';
    return withPort(v6, portPart, true);
  }
  const colons = authority.split(':').length - 1;
  if (colons > 1) {
    const v6 = canonicalIpv6(authority);
    return v6 === undefined ? 'more than one ":" outside an IPv6 literal' : { host: v6, port: undefined, ip: true };
  }
  if (colons === 1) {
    const at = authority.indexOf(':');
    hostPart = authority.slice(0, at);
    portPart = authority.slice(at + 1);
  }
  const host = normalizeHostName(hostPart);
  if (host === undefined) return 'not a host name: use letters, digits, "-", "_" and "." between labels';
  return withPort(host, portPart, IPV4.test(host));
}

function withPort(host: string, portPart: string | undefined, ip: boolean): ParsedAuthority | string {
  if (portPart === undefined) return { host, port: undefined, ip };
  if (!PORT.test(portPart)) return 'the port is not a number';
  const port = Number(portPart);
  if (port < 1 || port > 65535) return 'the port is outside 1-65535';
  return { host, port, ip };
}

/** Lower case, one trailing dot dropped, every label well formed; undefined otherwise. */
export function normalizeHostName(name: string): string | undefined {
  // Checked before lower-casing: 'K' (U+212A) and 'İ' (U+0130) fold to ASCII letters.
  if (!/^[A-Za-z0-9._-]*$/.test(name)) return undefined;
  let h = name.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0 || h.length > 253) return undefined;
  for (const label of h.split('.')) if (!LABEL.test(label)) return undefined;
  return h;
}

function canonicalIpv6(text: string): string | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined;
  try {
    const h = new URL(`http://[${text}]/`).hostname;
    return h.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** A name in the mesh's shape: `name.namespace`, `name.namespace.svc` or `name.namespace.svc.<domain>`. */
export interface MeshName {
  readonly name: string;
  readonly namespace: string;
}

/**
 * The service and namespace a normalized host names when it has the mesh's shape (two DNS labels,
 * optionally followed by `.svc` or `.svc.<clusterDomain>`), else undefined.
 * @example meshNameOf('reviews.default.svc.cluster.local', 'cluster.local') → { name: 'reviews', namespace: 'default' }
 */
export function meshNameOf(host: string, clusterDomain: string): MeshName | undefined {
  let h = host;
  const full = `.svc.${clusterDomain}`;
  if (h.endsWith(full)) h = h.slice(0, -full.length);
  else if (h.endsWith('.svc')) h = h.slice(0, -4);
  const parts = h.split('.');
  if (parts.length !== 2 || !DNS_LABEL.test(parts[0]!) || !DNS_LABEL.test(parts[1]!)) return undefined;
  return { name: parts[0]!, namespace: parts[1]! };
}

/** The key weft keeps a mesh service under: its fully qualified name. */
export function serviceHostKey(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/**
 * A host as a resource in `namespace` writes it (VirtualService `hosts`, a destination, a
 * ServiceEntry short name): a single label is a service of that namespace, a mesh-shaped name its
 * fully qualified form, anything else itself. `isRegistryHost` keeps a name a ServiceEntry owns
 * (`example.com`) from being read as service `example` in namespace `com`.
 */
export function hostKeyIn(host: string, namespace: string, clusterDomain: string, isRegistryHost: (h: string) => boolean = () => false): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h.startsWith('*')) return h;
  if (!h.includes('.')) return serviceHostKey(h, namespace, clusterDomain);
  if (isRegistryHost(h)) return h;
  const mesh = meshNameOf(h, clusterDomain);
  return mesh === undefined ? h : serviceHostKey(mesh.name, mesh.namespace, clusterDomain);
}

/** True when `host` is under the wildcard `pattern` (`*.example.com`, or `*` for any). */
export function wildcardCovers(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  return pattern.startsWith('*') && host.length > pattern.length - 1 && host.endsWith(pattern.slice(1));
}
