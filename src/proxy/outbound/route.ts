// Outbound stage 1: which service a request from the app is for. The app uses this sidecar as an
// explicit HTTP proxy (absolute-form request target, RFC 9112 §3.2.2) or sends an origin-form
// request whose Host names the service: SERVICE.NAMESPACE[:port] or
// SERVICE.NAMESPACE.<cluster domain>[:port].
import { ProxyError } from '../errors.js';
import type { Endpoint, ServiceEntry } from '../types.js';

/** Where one outbound request goes. */
export interface Target {
  readonly service: string;
  readonly namespace: string;
  /** Sent as :authority (what the app asked for, port included). */
  readonly authority: string;
  /** Origin-form path and query. */
  readonly path: string;
}

/**
 * Parses the request target and Host of an outbound request.
 *
 * @param clusterSuffix e.g. '.svc.cluster.local' (with its leading dot), stripped from hostnames.
 * @throws ProxyError `WEFT_PROXY_BAD_REQUEST` (no host, an unsupported scheme) or
 *   `WEFT_PROXY_UNKNOWN_SERVICE` (a host that is not SERVICE.NAMESPACE).
 */
export function parseTarget(url: string, host: string | undefined, clusterSuffix: string): Target {
  const { authority, path } = readTarget(url, host);
  const name = serviceHostOf(authority, clusterSuffix);
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1 || name.indexOf('.', dot + 1) !== -1) {
    throw new ProxyError('WEFT_PROXY_UNKNOWN_SERVICE', `unknown service "${name}"`);
  }
  return { service: name.slice(0, dot), namespace: name.slice(dot + 1), authority, path };
}

/**
 * The authority and origin-form path of an outbound request, whatever host it names.
 *
 * @throws ProxyError `WEFT_PROXY_BAD_REQUEST` (no host, an unsupported scheme).
 */
export function readTarget(url: string, host: string | undefined): { authority: string; path: string } {
  let authority: string;
  let path: string;
  if (url.charCodeAt(0) === 0x2f /* '/' */) {
    if (host === undefined || host.length === 0) throw new ProxyError('WEFT_PROXY_BAD_REQUEST', 'request has no Host header');
    authority = host;
    path = url;
  } else {
    const schemeEnd = url.indexOf('://');
    const scheme = schemeEnd === -1 ? '' : url.slice(0, schemeEnd).toLowerCase();
    if (scheme !== 'http') {
      throw new ProxyError('WEFT_PROXY_BAD_REQUEST', scheme === 'https' ? 'an https:// target is not proxied as a request: open a tunnel with CONNECT' : 'request target is neither a path nor an http:// URI');
    }
    const start = schemeEnd + 3;
    let end = start;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === 0x2f || c === 0x3f || c === 0x23) break; // '/', '?', '#'
      end++;
    }
    authority = url.slice(start, end);
    const at = authority.lastIndexOf('@');
    if (at !== -1) authority = authority.slice(at + 1);
    const rest = url.slice(end);
    path = rest.length === 0 || rest.charCodeAt(0) === 0x23 ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest;
    if (authority.length === 0) throw new ProxyError('WEFT_PROXY_BAD_REQUEST', 'request URI has no host');
  }
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash);
  return { authority, path };
}

/** The lowercase hostname of an authority, without port, trailing dot or cluster suffix. */
function serviceHostOf(authority: string, clusterSuffix: string): string {
  let h = authority;
  if (h.charCodeAt(0) === 0x5b /* '[' */) return h; // an IPv6 literal is never a service
  const colon = h.lastIndexOf(':');
  if (colon !== -1) h = h.slice(0, colon);
  h = h.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.endsWith(clusterSuffix)) h = h.slice(0, h.length - clusterSuffix.length);
  return h;
}

/** The port an authority names (`host:port`, `[v6]:port`), or undefined when it names none. */
export function authorityPort(authority: string): number | undefined {
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || authority.indexOf(']', colon) !== -1) return undefined;
  const digits = authority.slice(colon + 1);
  if (!/^\d{1,5}$/.test(digits)) return undefined;
  return Number(digits);
}

/**
 * Refuses a target naming a port its service does not have, when the service's ports are known.
 *
 * @throws ProxyError `WEFT_PROXY_UNKNOWN_PORT` naming the ports the service has.
 */
export function checkServicePort(entry: ServiceEntry, target: Target): void {
  const ports = entry.ports;
  if (ports === undefined || ports.length === 0) return;
  const port = authorityPort(target.authority);
  if (port === undefined || ports.some((p) => p.port === port)) return;
  const known = ports.map((p) => (p.name === '' ? String(p.port) : `${p.port} (${p.name})`)).join(', ');
  throw new ProxyError('WEFT_PROXY_UNKNOWN_PORT', `service "${target.service}.${target.namespace}" has no port ${port}; its ports: ${known}`);
}

/** Endpoints to pass over when balancing (an object, so the hot path allocates no closure). */
export interface EndpointFilter {
  avoids(ep: Endpoint): boolean;
}

// === RoundRobin ===

/**
 * Round robin over a service's endpoints. The cursor is kept per endpoint list, so a new
 * directory snapshot starts a fresh rotation and an old list is garbage collected with it.
 */
export class RoundRobin {
  readonly #cursors = new WeakMap<readonly Endpoint[], { next: number }>();

  /**
   * The next healthy endpoint of `entry`, or undefined when it has none (Envoy's "no healthy
   * upstream"). An endpoint marked unhealthy is never picked. Endpoints `filter` avoids are
   * skipped, unless every healthy endpoint is to be avoided: then the plain next healthy one is
   * returned (better a likely failure than none at all).
   */
  pick(entry: ServiceEntry, filter?: EndpointFilter): Endpoint | undefined {
    const list = entry.endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    if (n === 1) return list[0]!.healthy === false ? undefined : list[0];
    let cursor = this.#cursors.get(list);
    if (cursor === undefined) {
      cursor = { next: 0 };
      this.#cursors.set(list, cursor);
    }
    const start = cursor.next % n;
    let chosen = -1;
    let fallback = -1;
    for (let k = 0; k < n; k++) {
      const j = (start + k) % n;
      const ep = list[j]!;
      if (ep.healthy === false) continue;
      if (fallback === -1) fallback = j;
      if (filter === undefined || !filter.avoids(ep)) {
        chosen = j;
        break;
      }
    }
    if (chosen === -1) chosen = fallback;
    if (chosen === -1) return undefined;
    cursor.next = (chosen + 1) % n;
    return list[chosen];
  }
}
