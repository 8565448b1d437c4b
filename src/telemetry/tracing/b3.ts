// Zipkin's B3 propagation: the multi-header form (x-b3-traceid, x-b3-spanid, x-b3-parentspanid,
// x-b3-sampled, x-b3-flags) and the single `b3` header. Both are read, the single one first as
// Envoy does; only the multi-header form is written, and a single `b3` the sidecar read is
// replaced rather than forwarded stale (which is what flattens Envoy's traces).
import { single, validSpanId, validTraceId, type HeaderValue } from './w3c.js';

export interface B3Context {
  /** 32 hex digits (a 64-bit id is left-padded with zeros). */
  readonly traceId?: string;
  readonly spanId?: string;
  readonly parentSpanId?: string;
  /** undefined: the caller left the decision to us. */
  readonly sampled?: boolean;
  readonly debug: boolean;
}

export const B3_HEADERS = ['b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'] as const;

function traceId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const id = v.length === 16 ? `${'0'.repeat(16)}${v}` : v;
  return validTraceId(id) ? id : undefined;
}

function sampling(v: string | undefined): { sampled?: boolean; debug: boolean } | undefined {
  if (v === undefined) return { debug: false };
  if (v === '1' || v === 'true') return { sampled: true, debug: false };
  if (v === '0' || v === 'false') return { sampled: false, debug: false };
  if (v === 'd') return { sampled: true, debug: true };
  return undefined;
}

/** The single `b3` header: `{traceid}-{spanid}[-{sampling}[-{parentspanid}]]` or a bare sampling state. */
export function parseB3Single(value: HeaderValue): B3Context | undefined {
  const v = single(value);
  if (v === undefined || v.length > 128) return undefined;
  const parts = v.split('-');
  if (parts.length === 1) {
    const s = sampling(parts[0]);
    return s === undefined || parts[0] === 'true' || parts[0] === 'false' ? undefined : s;
  }
  if (parts.length > 4) return undefined;
  const tid = traceId(parts[0]);
  const sid = parts[1];
  if (tid === undefined || sid === undefined || !validSpanId(sid)) return undefined;
  const s = parts.length >= 3 ? sampling(parts[2]) : { debug: false };
  if (s === undefined || parts[2] === 'true' || parts[2] === 'false') return undefined;
  const parent = parts[3];
  if (parent !== undefined && !validSpanId(parent)) return undefined;
  return { traceId: tid, spanId: sid, ...(parent === undefined ? {} : { parentSpanId: parent }), ...s };
}

/** The multi-header form; undefined when absent or malformed (a trace id without a span id, bad hex). */
export function parseB3Multi(headers: Readonly<Record<string, HeaderValue>>): B3Context | undefined {
  const tidRaw = single(headers['x-b3-traceid']);
  const sidRaw = single(headers['x-b3-spanid']);
  const sampledRaw = single(headers['x-b3-sampled']);
  const flags = single(headers['x-b3-flags']);
  if (tidRaw === undefined && sidRaw === undefined && sampledRaw === undefined && flags === undefined) return undefined;
  if (flags !== undefined && flags !== '0' && flags !== '1') return undefined;
  const s = sampling(sampledRaw);
  if (s === undefined) return undefined;
  const debug = flags === '1';
  const decision = debug ? { sampled: true, debug } : { ...s, debug };
  if (tidRaw === undefined && sidRaw === undefined) return decision;
  const tid = traceId(tidRaw);
  if (tid === undefined || sidRaw === undefined || !validSpanId(sidRaw)) return undefined;
  const parentRaw = single(headers['x-b3-parentspanid']);
  if (parentRaw !== undefined && !validSpanId(parentRaw)) return undefined;
  return { traceId: tid, spanId: sidRaw, ...(parentRaw === undefined ? {} : { parentSpanId: parentRaw }), ...decision };
}

/** The multi headers for the next hop. */
export function formatB3Multi(ctx: { traceId: string; spanId: string; parentSpanId?: string; sampled: boolean; debug?: boolean }): Record<string, string> {
  return {
    'x-b3-traceid': ctx.traceId,
    'x-b3-spanid': ctx.spanId,
    ...(ctx.parentSpanId === undefined ? {} : { 'x-b3-parentspanid': ctx.parentSpanId }),
    ...(ctx.debug ? { 'x-b3-flags': '1' } : { 'x-b3-sampled': ctx.sampled ? '1' : '0' }),
  };
}
