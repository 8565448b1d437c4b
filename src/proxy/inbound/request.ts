// One inbound request in a single shape for HTTP/2 (a mesh peer) and HTTP/1.1 (a plaintext
// client): method, target, the one authority and the end-to-end fields, with every value of a
// repeated field kept. Policy decides on this object and the app receives exactly what it holds
// (toAppRequest), so the two can never disagree. Reading it is where the client's copies of the
// headers the sidecar owns are dropped and the sidecar's own are added.
//
// Authority, RFC 9113 §8.3.1: ":authority", or Host when it is absent; "A server SHOULD treat a
// request as malformed if it contains a Host header field that identifies an entity that differs
// from the entity in the :authority pseudo-header field" (weft does: 400). HTTP/1.1, RFC 9112
// §3.2.2: an absolute-form target's authority wins and Host is replaced by it; more than one Host
// is a 400 (RFC 9112 §3.2).
import type { IncomingMessage } from 'node:http';
import { isSidecarOwnedHeader } from '../../policy/index.js';
import { connectionListed, HOP_BY_HOP, XFCC } from '../hop-headers.js';

/** A request as the sidecar reads, decides and forwards it. */
export interface InboundRequest {
  readonly method: string;
  /** The request target (origin-form path and query); once decided, the normalized one. */
  readonly target: string;
  /** `:authority`, Host, or an absolute-form target's authority: the only one the request has. */
  readonly authority: string;
  /** End-to-end fields by lower-case name; a field sent more than once is the list of its values, in order. */
  readonly fields: Readonly<Record<string, string | readonly string[]>>;
}

export type ReadRequest = { readonly ok: true; readonly request: InboundRequest } | { readonly ok: false; readonly reason: string };

/** What reading needs besides the request: the owned headers to drop and the sidecar's XFCC to add. */
export interface ReadOptions {
  /** RequestAuthentication's output header names (outputPayloadToHeader, outputClaimToHeaders). */
  readonly jwtOutputs: readonly string[];
  /** The x-forwarded-client-cert value of the connection (mTLS only). */
  readonly xfcc?: string;
}

type Fields = Record<string, string | string[]>;

// Fields are a plain object (V8 keeps those fast; a null-prototype one is a slow dictionary), so
// a name is looked up as an own property only, and `__proto__` is defined rather than assigned.
function add(fields: Fields, name: string, value: string): void {
  if (!Object.hasOwn(fields, name)) {
    if (name === '__proto__') Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
    else fields[name] = value;
    return;
  }
  const seen = fields[name]!;
  if (name === 'cookie') fields[name] = `${seen as string}; ${value}`; // RFC 9113 §8.2.3
  else if (typeof seen === 'string') fields[name] = [seen, value];
  else seen.push(value);
}

function keep(name: string, value: string, listed: Set<string> | undefined, opts: ReadOptions): boolean {
  if (HOP_BY_HOP.has(name)) return name === 'te' && value.trim().toLowerCase() === 'trailers';
  if (listed !== undefined && listed.has(name)) return false;
  return !isSidecarOwnedHeader(name, opts.jwtOutputs);
}

/** Hosts compare as RFC 3986 §6.2 normalizes them: case-insensitive, the http default port implied. */
function sameAuthority(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || x.replace(/:80$/, '') === y.replace(/:80$/, '');
}

function finish(method: string, target: string, authority: string | undefined, hosts: readonly string[], fields: Fields, opts: ReadOptions): ReadRequest {
  if (hosts.length > 1) return { ok: false, reason: 'the request has more than one host header' };
  const host = hosts[0];
  if (authority !== undefined && host !== undefined && !sameAuthority(authority, host)) {
    return { ok: false, reason: 'the request names two hosts: :authority and host differ' };
  }
  const one = authority ?? host;
  if (one === undefined || one === '') return { ok: false, reason: 'the request has no authority (no :authority or host)' };
  if (opts.xfcc !== undefined) fields[XFCC] = opts.xfcc;
  return { ok: true, request: { method, target, authority: one, fields } };
}

/**
 * RFC 9113 §8.2.1: a field value must not start or end with SP or HTAB, nor hold NUL, CR or LF.
 * Node's HTTP/2 lets the white space through, and an HTTP/1.1 app trims it, so a DENY on
 * `x-role: admin` would see " admin" while the app sees "admin": such a request is malformed.
 */
function malformedValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return true;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/**
 * Reads an HTTP/2 request from its raw header list (`[name, value, ...]`, as the 'stream' event
 * gives it: Node's header object drops repeats of some fields and joins others).
 */
export function readH2Request(raw: readonly string[], opts: ReadOptions): ReadRequest {
  const fields: Fields = {};
  const hosts: string[] = [];
  let method = 'GET';
  let target = '/';
  let authority: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (malformedValue(value)) return { ok: false, reason: `the value of ${JSON.stringify(name)} starts or ends with white space or holds a control character` };
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (name === ':method') method = value;
      else if (name === ':path') target = value;
      else if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'host') hosts.push(value);
    else if (keep(name, value, undefined, opts)) add(fields, name, value);
  }
  return finish(method, target, authority, hosts, fields, opts);
}

/** An absolute-form target (`http://authority/path?query`): its authority and origin-form target. */
function absoluteForm(url: string): { authority: string; target: string } | string | undefined {
  const m = /^http:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (m === null) return undefined;
  const authority = m[1]!;
  if (authority === '' || authority.includes('@')) return 'the absolute-form target has no host, or carries user information';
  const rest = m[2]!;
  return { authority, target: rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}` };
}

/** Reads a plaintext HTTP/1.1 request (node:http), every value of a repeated field included. */
export function readH1Request(req: IncomingMessage, opts: ReadOptions): ReadRequest {
  const fields: Fields = {};
  const listed = connectionListed(req.headers.connection);
  const distinct = req.headersDistinct;
  for (const name in distinct) {
    if (name === 'host') continue;
    for (const value of distinct[name]!) if (keep(name, value, listed, opts)) add(fields, name, value);
  }
  const url = req.url ?? '/';
  const hosts = distinct.host ?? [];
  if (hosts.length > 1) return { ok: false, reason: 'the request has more than one host header' };
  const absolute = url.startsWith('/') ? undefined : absoluteForm(url);
  if (typeof absolute === 'string') return { ok: false, reason: absolute };
  if (absolute !== undefined) return finish(req.method ?? 'GET', absolute.target, absolute.authority, [], fields, opts);
  return finish(req.method ?? 'GET', url, undefined, hosts, fields, opts);
}

/** The HTTP/1.1 request the app receives: exactly the decided one, Host being its authority. */
export function toAppRequest(req: InboundRequest): { method: string; path: string; headers: string[] } {
  const headers: string[] = [];
  const fields = req.fields;
  for (const name of Object.keys(fields)) {
    const value = fields[name]!;
    if (typeof value === 'string') headers.push(name, value);
    else for (const v of value) headers.push(name, v);
  }
  headers.push('host', req.authority);
  return { method: req.method, path: req.target, headers };
}
