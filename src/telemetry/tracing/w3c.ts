// W3C Trace Context (traceparent, tracestate), parsed strictly: version 00 exactly, lowercase hex,
// all-zero ids and version ff refused; a higher version is read by the version-00 layout as the
// specification asks, keeping only what version 00 defines.

/** A header as Node gives it: absent, one value, or several (a repeated header). */
export type HeaderValue = string | readonly string[] | undefined;

export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span. */
  readonly parentId: string;
  readonly sampled: boolean;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
/** Longest traceparent read; a future version may append fields, but not without bound. */
const MAX_TRACEPARENT = 512;

export function validTraceId(id: string): boolean {
  return HEX32.test(id) && id !== ZERO32;
}

export function validSpanId(id: string): boolean {
  return HEX16.test(id) && id !== ZERO16;
}

/** The trace parent of a request, or undefined when the header is absent, repeated or invalid. */
export function parseTraceparent(value: HeaderValue): TraceParent | undefined {
  const v = single(value);
  if (v === undefined || v.length < 55 || v.length > MAX_TRACEPARENT) return undefined;
  const version = v.slice(0, 2);
  if (!/^[0-9a-f]{2}$/.test(version) || version === 'ff') return undefined;
  // Version 00 is exactly 55 characters; a later version has more only after a dash.
  if (version === '00' ? v.length !== 55 : v.length > 55 && v[55] !== '-') return undefined;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return undefined;
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!validTraceId(traceId) || !validSpanId(parentId) || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/** Most list members kept, and the longest tracestate passed on (the specification's figures). */
export const MAX_TRACESTATE_MEMBERS = 32;
export const MAX_TRACESTATE_LENGTH = 512;

const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * The members of tracestate (several headers are one list joined by commas), or undefined when
 * the list is invalid as a whole: a malformed member, a duplicate key or more than 32 members.
 * Only read once a valid traceparent was.
 */
export function parseTracestate(value: HeaderValue): { key: string; value: string }[] | undefined {
  if (value === undefined) return undefined;
  const joined = typeof value === 'string' ? value : value.join(',');
  if (joined.length > 8 * 1024) return undefined;
  const members: { key: string; value: string }[] = [];
  const seen = new Set<string>();
  for (const raw of joined.split(',')) {
    const m = raw.trim();
    if (m === '') continue;
    const eq = m.indexOf('=');
    if (eq <= 0) return undefined;
    const key = m.slice(0, eq);
    const val = m.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(val) || seen.has(key)) return undefined;
    seen.add(key);
    members.push({ key, value: val });
    if (members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  }
  return members;
}

/**
 * tracestate for the next hop, at most 512 characters: members over 128 characters go first,
 * then members from the end, as the specification suggests.
 */
export function formatTracestate(members: readonly { key: string; value: string }[]): string | undefined {
  let list = members.map((m) => `${m.key}=${m.value}`);
  const length = () => list.reduce((n, s) => n + s.length, 0) + Math.max(0, list.length - 1);
  if (length() > MAX_TRACESTATE_LENGTH) list = list.filter((s) => s.length <= 128);
  while (list.length > 0 && length() > MAX_TRACESTATE_LENGTH) list.pop();
  return list.length === 0 ? undefined : list.join(',');
}

/** One header value, or undefined when absent or repeated (a repeated traceparent is not one parent). */
export function single(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return value.length === 1 ? value[0] : undefined;
}
