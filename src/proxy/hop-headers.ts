// Implements RFC 9110 §7.6.1 (Connection) for a proxy hop: hop-by-hop fields, and every field the
// Connection header lists, are removed before a message is forwarded. HTTP/2 (RFC 9113 §8.2.2)
// forbids connection-specific fields outright, except `TE: trailers`.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Fields that belong to one connection, not to the message. `proxy-authorization` and
 * `proxy-authenticate` are consumed by the proxy hop (the app's explicit proxy is this sidecar);
 * `host` becomes `:authority` on HTTP/2 and is rebuilt from it on HTTP/1.1; `http2-settings` is
 * part of the h2c upgrade dance, which this proxy does not do.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
  'host',
]);

/** The x-forwarded-client-cert header, which only the inbound sidecar may set. */
export const XFCC = 'x-forwarded-client-cert';

type HeaderValue = string | string[] | number | undefined;

/**
 * The field names listed in a Connection header (RFC 9110 §7.6.1), lowercase; undefined when it
 * lists nothing beyond the common `keep-alive` / `close` (the fast path: no allocation).
 */
export function connectionListed(connection: HeaderValue): Set<string> | undefined {
  if (connection === undefined || typeof connection === 'number') return undefined;
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  if (text.length === 0) return undefined;
  const lower = text.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close') return undefined;
  const names = new Set<string>();
  for (const token of lower.split(',')) {
    const name = token.trim();
    if (name.length > 0 && name !== 'close') names.add(name);
  }
  return names.size === 0 ? undefined : names;
}

/**
 * A node:http request's fields with every repeat of a list field kept as its own value. Node joins
 * the repeats of most fields with ", " and keeps only the first of a few (authorization,
 * content-type...); joined ones are split back into their distinct values, so a peer's policy sees
 * each of them (docs/policy.md, repeated headers). The rest is left as Node read it.
 */
export function distinctFields(headers: IncomingHttpHeaders, distinct: () => Readonly<Record<string, string[] | undefined>>): IncomingHttpHeaders {
  let out: IncomingHttpHeaders | undefined;
  let lists: Readonly<Record<string, string[] | undefined>> | undefined;
  for (const name in headers) {
    const value = headers[name];
    // Only a value with ", " can be joined repeats; Node builds headersDistinct on first use.
    if (typeof value !== 'string' || name === 'cookie' || !value.includes(', ')) continue;
    const all = (lists ??= distinct())[name];
    if (all === undefined || all.length < 2 || value !== all.join(', ')) continue;
    (out ??= { ...headers })[name] = all;
  }
  return out ?? headers;
}

function isTeTrailers(value: HeaderValue): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === 'trailers';
}

/**
 * HTTP/1.1 request or response headers (Node's lowercase object) to HTTP/2: end-to-end fields
 * only, `te` kept only as `trailers`. Pseudo-headers are left for the caller to add.
 */
export function h1ToH2Headers(src: IncomingHttpHeaders, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(src.connection);
  for (const name in src) {
    const value = src[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name)) {
      if (name === 'te' && isTeTrailers(value)) out.te = 'trailers';
      continue;
    }
    if (listed !== undefined && listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * HTTP/2 headers to an HTTP/1.1 flat list `[name, value, name, value, ...]` (what Node's
 * http.request and writeHead take without re-validating an object): pseudo-headers and
 * connection-specific fields dropped, and `x-forwarded-client-cert` too when `dropXfcc`.
 * Multi-valued fields (set-cookie) become repeated entries.
 */
export function h2ToH1Headers(src: IncomingHttpHeaders, out: string[], dropXfcc: boolean): string[] {
  for (const name in src) {
    if (name.charCodeAt(0) === 0x3a /* ':' */) continue;
    const value = src[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) && !(name === 'te' && isTeTrailers(value))) continue;
    if (dropXfcc && name === XFCC) continue;
    if (typeof value === 'string') {
      out.push(name, value);
    } else {
      for (const v of value) out.push(name, v);
    }
  }
  return out;
}
