// A hop's trace context: read from the request's headers (traceparent first, then the single
// `b3`, then the B3 multi headers), and the headers the next hop receives (W3C and B3 multi
// together, so either kind of tracer downstream continues the trace).
import { randomBytes } from 'node:crypto';
import { B3_HEADERS, formatB3Multi, parseB3Multi, parseB3Single } from './b3.js';
import { requestId, withTraceDecision } from './request-id.js';
import { decideSampling } from './sampling.js';
import { formatTraceparent, formatTracestate, parseTraceparent, parseTracestate, type HeaderValue } from './w3c.js';

export type TraceHeaders = Readonly<Record<string, HeaderValue>>;

/** What the caller's headers say of the trace. */
export interface IncomingTrace {
  /** The trace this request belongs to; undefined when the caller sent none (a new trace starts). */
  readonly traceId?: string;
  /** The caller's span, parent of this hop's. */
  readonly parentSpanId?: string;
  /** The caller's decision; undefined when it left it to us. */
  readonly sampled?: boolean;
  readonly debug: boolean;
  readonly tracestate?: readonly { key: string; value: string }[];
  readonly requestId: string;
  readonly requestIdGenerated: boolean;
  readonly format: 'w3c' | 'b3' | 'b3-single' | 'none';
}

/** Reads the trace context of a request; malformed headers are ignored, never an error. */
export function extractTrace(headers: TraceHeaders): IncomingTrace {
  const rid = requestId(headers['x-request-id']);
  const base = { requestId: rid.id, requestIdGenerated: rid.generated };
  const tp = parseTraceparent(headers.traceparent);
  if (tp !== undefined) {
    const tracestate = parseTracestate(headers.tracestate);
    return { ...base, traceId: tp.traceId, parentSpanId: tp.parentId, sampled: tp.sampled, debug: false, format: 'w3c', ...(tracestate === undefined ? {} : { tracestate }) };
  }
  const single = parseB3Single(headers.b3);
  const b3 = single ?? parseB3Multi(headers);
  if (b3 !== undefined) {
    return {
      ...base,
      ...(b3.traceId === undefined ? {} : { traceId: b3.traceId, parentSpanId: b3.spanId }),
      ...(b3.sampled === undefined ? {} : { sampled: b3.sampled }),
      debug: b3.debug,
      format: single !== undefined ? 'b3-single' : 'b3',
    };
  }
  return { ...base, debug: false, format: 'none' };
}

/** The decided context of this hop: its own span id under the caller's trace. */
export interface HopContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly sampled: boolean;
  readonly debug: boolean;
  readonly tracestate?: readonly { key: string; value: string }[];
  readonly requestId: string;
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

/** Decides sampling for a hop and gives it ids (used as they are for an unsampled hop). */
export function decideHop(incoming: IncomingTrace, samplingPercent: number | undefined, random?: () => number): HopContext {
  const sampled = incoming.debug || decideSampling(samplingPercent, incoming.sampled, random);
  return {
    traceId: incoming.traceId ?? newTraceId(),
    spanId: newSpanId(),
    ...(incoming.parentSpanId === undefined ? {} : { parentSpanId: incoming.parentSpanId }),
    sampled,
    debug: incoming.debug,
    ...(incoming.tracestate === undefined ? {} : { tracestate: incoming.tracestate }),
    requestId: incoming.requestIdGenerated ? withTraceDecision(incoming.requestId, sampled ? 'sampled' : 'none') : incoming.requestId,
  };
}

/**
 * The trace headers the next hop receives, and the ones to take off first: a stale single `b3`
 * would win over the multi headers at the next hop, so it goes.
 */
export function traceHeaders(hop: HopContext): { set: Record<string, string>; remove: readonly string[] } {
  const tracestate = hop.tracestate === undefined ? undefined : formatTracestate(hop.tracestate);
  return {
    set: {
      'x-request-id': hop.requestId,
      traceparent: formatTraceparent(hop.traceId, hop.spanId, hop.sampled),
      ...(tracestate === undefined ? {} : { tracestate }),
      ...formatB3Multi({ traceId: hop.traceId, spanId: hop.spanId, ...(hop.parentSpanId === undefined ? {} : { parentSpanId: hop.parentSpanId }), sampled: hop.sampled, debug: hop.debug }),
    },
    remove: ['tracestate', ...B3_HEADERS],
  };
}
