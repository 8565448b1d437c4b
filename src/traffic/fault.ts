// Fault injection (virtual_service.proto HTTPFaultInjection; Istio TranslateFault). Percentages
// become Envoy fractions over a million; an unset percentage is 0%: nothing is delayed or
// aborted. `exponentialDelay` and `http2Error` are not supported by Istio and are dropped here too.
import type { HTTPFaultInjection, Percent } from '../config/generated/types.js';
import { goDurationMs } from './duration.js';
import { clamp01 } from './retry.js';

/** gRPC status names and their codes (grpc/status.proto). */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

const MILLION = 1_000_000;

export interface FaultPolicy {
  readonly delay: { readonly ms: number; readonly perMillion: number } | undefined;
  readonly abort: { readonly httpStatus: number | undefined; readonly grpcStatus: string | undefined; readonly perMillion: number } | undefined;
}

/** A percentage (0-100, any precision) as an Envoy fraction per million; the legacy int `percent` when no `percentage`. */
export function perMillion(p: Percent | undefined, legacyPercent?: number): number {
  const value = p?.value ?? legacyPercent ?? 0;
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(MILLION, Math.round(value * 10_000));
}

/** Compiles a route's `fault`; undefined when it injects nothing. */
export function compileFault(f: HTTPFaultInjection | undefined): FaultPolicy | undefined {
  if (f === undefined) return undefined;
  let delay: FaultPolicy['delay'];
  const d = f.delay;
  if (d?.fixedDelay !== undefined) {
    const ms = goDurationMs(d.fixedDelay);
    if (ms !== undefined) delay = { ms, perMillion: perMillion(d.percentage, d.percent) };
  }
  let abort: FaultPolicy['abort'];
  const a = f.abort;
  if (a !== undefined && (a.httpStatus !== undefined || (a.grpcStatus !== undefined && a.grpcStatus in GRPC_STATUS_CODES))) {
    abort = { httpStatus: a.httpStatus, grpcStatus: a.httpStatus === undefined ? a.grpcStatus : undefined, perMillion: perMillion(a.percentage) };
  }
  return delay === undefined && abort === undefined ? undefined : { delay, abort };
}

export interface FaultVerdict {
  /** Delay the request this long first (response flag DI). */
  readonly delayMs: number | undefined;
  /** Then answer locally instead of forwarding (response flag FI): an HTTP status, or HTTP 200 with `grpc-status`. */
  readonly abort: { readonly httpStatus: number } | { readonly grpcStatus: string; readonly grpcCode: number } | undefined;
}

/**
 * Draws whether this request is delayed and whether it is aborted, each independently (two calls
 * of `random`, a source in [0, 1)).
 * @example faultDecision({ delay: { ms: 5000, perMillion: 1_000_000 }, abort: undefined }, Math.random).delayMs === 5000
 */
export function faultDecision(fault: FaultPolicy | undefined, random: () => number): FaultVerdict {
  if (fault === undefined) return { delayMs: undefined, abort: undefined };
  const fires = (pm: number) => Math.floor(clamp01(random()) * MILLION) < pm;
  const delayMs = fault.delay !== undefined && fires(fault.delay.perMillion) ? fault.delay.ms : undefined;
  let abort: FaultVerdict['abort'];
  if (fault.abort !== undefined && fires(fault.abort.perMillion)) {
    const a = fault.abort;
    abort = a.httpStatus !== undefined ? { httpStatus: a.httpStatus } : { grpcStatus: a.grpcStatus!, grpcCode: GRPC_STATUS_CODES[a.grpcStatus!]! };
  }
  return { delayMs, abort };
}
