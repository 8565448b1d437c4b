// x-request-id: kept when the caller sent a usable one, generated (UUIDv4) otherwise. Envoy
// records its trace decision in the 14th character of a UUID request id (the version nibble):
// 4 none, 9 sampled, a forced by the server, b forced by the client.
import { randomUUID } from 'node:crypto';
import { single, type HeaderValue } from './w3c.js';

export type TraceDecision = 'none' | 'sampled' | 'forced-server' | 'forced-client';

const NIBBLE: Record<TraceDecision, string> = { none: '4', sampled: '9', 'forced-server': 'a', 'forced-client': 'b' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Longest request id passed on; a longer or non-printable one is replaced. */
export const MAX_REQUEST_ID = 128;

/** The request id to pass on: the caller's when it is one printable value of sane length, else a new UUIDv4. */
export function requestId(value: HeaderValue): { id: string; generated: boolean } {
  const v = single(value);
  if (v !== undefined && v.length > 0 && v.length <= MAX_REQUEST_ID && /^[\x21-\x7e]+$/.test(v)) return { id: v, generated: false };
  return { id: randomUUID(), generated: true };
}

/** The id with the trace decision in its version nibble; ids that are not UUIDs are left alone. */
export function withTraceDecision(id: string, decision: TraceDecision): string {
  if (!UUID.test(id)) return id;
  return `${id.slice(0, 14)}${NIBBLE[decision]}${id.slice(15)}`;
}

/** The decision an id carries, when it is a UUID with one of Envoy's nibbles. */
export function traceDecisionOf(id: string): TraceDecision | undefined {
  if (!UUID.test(id)) return undefined;
  const n = id[14]!.toLowerCase();
  return (Object.keys(NIBBLE) as TraceDecision[]).find((d) => NIBBLE[d] === n);
}
