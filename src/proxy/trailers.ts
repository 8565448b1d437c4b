// Trailer fields across the hop (RFC 9110 §6.5): HTTP/1.1 chunked trailers on the app's side,
// trailing HEADERS on the HTTP/2 hop between sidecars. A trailer arrives after every decision on
// the message was taken, so only fields that cannot change how the message is framed, routed,
// authenticated or identified travel on (§6.5.1): framing (content-length, transfer-encoding,
// trailer), routing (host, pseudo-headers), the connection's own fields, authentication and
// cookies, content metadata, and every field the sidecar owns (x-forwarded-client-cert, the
// RequestAuthentication outputs) are dropped, each drop counted. A block over the bounds below is
// not trimmed but refused: trimming would pass on a message its sender did not write.
import { isSidecarOwnedHeader } from '../policy/index.js';
import { HOP_BY_HOP } from './hop-headers.js';

/** Fields a trailer section may not carry here (RFC 9110 §6.5.1), beyond the hop-by-hop ones. */
const FORBIDDEN: ReadonlySet<string> = new Set([
  'content-length',
  'content-type',
  'content-encoding',
  'content-range',
  'trailer',
  'authorization',
  'www-authenticate',
  'proxy-authorization',
  'proxy-authenticate',
  'cookie',
  'set-cookie',
  'expect',
  'max-forwards',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'location',
  'retry-after',
  'vary',
  'age',
  'cache-control',
  'expires',
  'date',
]);

/** At most this many trailer fields in one message. */
export const MAX_TRAILER_FIELDS = 64;
/** At most this many bytes of trailer names and values in one message. */
export const MAX_TRAILER_BYTES = 16 * 1024;

export type TrailerVerdict =
  | { readonly ok: true; readonly fields: Record<string, string | string[]>; readonly dropped: number }
  | { readonly ok: false; readonly reason: string };

/**
 * The trailer fields that may be passed on, from a name → value(s) object (node:http's
 * `req.trailers`, an HTTP/2 'trailers' event, undici's trailers). Names are compared in lower case.
 */
export function forwardableTrailers(src: Readonly<Record<string, string | readonly string[] | undefined>> | null | undefined, jwtOutputs: readonly string[] = []): TrailerVerdict {
  const fields: Record<string, string | string[]> = {};
  if (src === null || src === undefined) return { ok: true, fields, dropped: 0 };
  let count = 0;
  let bytes = 0;
  let dropped = 0;
  for (const key of Object.keys(src)) {
    const value = src[key];
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : value;
    const name = key.toLowerCase();
    count += values.length;
    for (const v of values) bytes += name.length + v.length;
    if (count > MAX_TRAILER_FIELDS) return { ok: false, reason: `the trailer section has more than ${MAX_TRAILER_FIELDS} fields` };
    if (bytes > MAX_TRAILER_BYTES) return { ok: false, reason: `the trailer section is larger than ${MAX_TRAILER_BYTES} bytes` };
    if (name.charCodeAt(0) === 0x3a /* ':' */ || HOP_BY_HOP.has(name) || FORBIDDEN.has(name) || isSidecarOwnedHeader(name, jwtOutputs) || !validName(name) || values.some(badValue)) {
      dropped += values.length;
      continue;
    }
    if (name === '__proto__') Object.defineProperty(fields, name, { value: values.length === 1 ? values[0]! : [...values], enumerable: true, writable: true, configurable: true });
    else fields[name] = values.length === 1 ? values[0]! : [...values];
  }
  return { ok: true, fields, dropped };
}

/** True when `fields` holds no field. */
export function noFields(fields: Readonly<Record<string, unknown>>): boolean {
  for (const _ in fields) return false;
  return true;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function validName(name: string): boolean {
  return TOKEN.test(name);
}

/** A value HTTP/1.1 and HTTP/2 both carry unchanged: no control characters, no edge white space. */
function badValue(v: string): boolean {
  if (v.length === 0) return false;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return true;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** Whether a request or response announced trailers or asked for them: `Trailer`, or `TE: trailers`. */
export function announcesTrailers(headers: Readonly<Record<string, unknown>>): boolean {
  return headers.trailer !== undefined || (typeof headers.te === 'string' && headers.te.toLowerCase().includes('trailers'));
}
