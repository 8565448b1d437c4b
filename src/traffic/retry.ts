// Retries as Istio configures Envoy (pilot route/retry/retry.go) and as Envoy's router decides
// them (router/retry_state_impl.cc). No `retries` field: Istio's default (2 retries on
// connect-failure, refused-stream, unavailable, cancelled; since 1.24 no retriable status code).
// `retries` present with `attempts` 0 or unset: no retries. `retryOn` is a comma list of Envoy's
// `x-envoy-retry-on` and `x-envoy-retry-grpc-on` tokens; a bare integer is a retriable status code.
import type { HTTPRetry } from '../config/generated/types.js';
import { goDurationMs } from './duration.js';

/** Envoy's `x-envoy-retry-on` vocabulary. */
export const HTTP_RETRY_ON = ['5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure'] as const;
/** Envoy's `x-envoy-retry-grpc-on` vocabulary, with the gRPC status each one names. */
export const GRPC_RETRY_ON: Readonly<Record<string, string>> = {
  cancelled: 'CANCELLED',
  'deadline-exceeded': 'DEADLINE_EXCEEDED',
  internal: 'INTERNAL',
  'resource-exhausted': 'RESOURCE_EXHAUSTED',
  unavailable: 'UNAVAILABLE',
};

const KNOWN = new Set<string>([...HTTP_RETRY_ON, ...Object.keys(GRPC_RETRY_ON)]);
/** Envoy's default retry back-off base interval. */
export const DEFAULT_BACKOFF_BASE_MS = 25;
const DEFAULT_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

export interface RetryPolicy {
  /** Retries after the first try; 0 disables retrying. */
  readonly attempts: number;
  readonly retryOn: ReadonlySet<string>;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** Per-try timeout; undefined: the route timeout (none by default). */
  readonly perTryTimeoutMs: number | undefined;
  readonly retryIgnorePreviousHosts: boolean;
  readonly retryRemoteLocalities: boolean;
  readonly backoffBaseMs: number;
  /** Envoy caps the back-off at ten times its base. */
  readonly backoffMaxMs: number;
  /** Tokens in `retryOn` Envoy does not know: ignored, reported for `weft analyze`. */
  readonly ignoredTokens: readonly string[];
}

export const NO_RETRIES: RetryPolicy = Object.freeze({
  attempts: 0,
  retryOn: new Set<string>(),
  retriableStatusCodes: new Set<number>(),
  perTryTimeoutMs: undefined,
  retryIgnorePreviousHosts: true,
  retryRemoteLocalities: false,
  backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
  backoffMaxMs: DEFAULT_BACKOFF_BASE_MS * 10,
  ignoredTokens: [],
});

/** Istio's default policy, used when a route has no `retries`. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ ...NO_RETRIES, attempts: 2, retryOn: new Set(DEFAULT_RETRY_ON) });

/**
 * The policy of a route's `retries` (undefined: Istio's default).
 * @example compileRetry({ attempts: 3, retryOn: '5xx,409' }).retriableStatusCodes.has(409) === true
 */
export function compileRetry(r: HTTPRetry | undefined): RetryPolicy {
  if (r === undefined) return DEFAULT_RETRY_POLICY;
  const attempts = r.attempts ?? 0;
  if (attempts <= 0) return NO_RETRIES;
  let retryOn = DEFAULT_RETRY_POLICY.retryOn;
  const codes = new Set<number>();
  const ignoredTokens: string[] = [];
  if (r.retryOn !== undefined && r.retryOn.trim() !== '') {
    const tokens = new Set<string>();
    for (const raw of r.retryOn.split(',')) {
      const t = raw.trim();
      if (t === '') continue;
      if (/^[0-9]{3}$/.test(t)) {
        codes.add(Number(t));
        tokens.add('retriable-status-codes');
      } else if (KNOWN.has(t)) tokens.add(t);
      else ignoredTokens.push(t);
    }
    retryOn = tokens;
  }
  const base = (r.backoff === undefined ? undefined : goDurationMs(r.backoff)) ?? DEFAULT_BACKOFF_BASE_MS;
  const baseMs = Math.max(1, base);
  return {
    attempts,
    retryOn,
    retriableStatusCodes: codes,
    perTryTimeoutMs: r.perTryTimeout === undefined ? undefined : goDurationMs(r.perTryTimeout),
    retryIgnorePreviousHosts: r.retryIgnorePreviousHosts ?? true,
    retryRemoteLocalities: r.retryRemoteLocalities ?? false,
    backoffBaseMs: baseMs,
    backoffMaxMs: baseMs * 10,
    ignoredTokens,
  };
}

/** How one try ended. */
export type RetryOutcome =
  | { readonly kind: 'connect-failure' }
  | { readonly kind: 'refused-stream' }
  /** The stream was reset; `beforeRequest` when no byte of the request reached the upstream. */
  | { readonly kind: 'reset'; readonly beforeRequest?: boolean }
  /** The per-try timeout fired. */
  | { readonly kind: 'timeout' }
  /** A response arrived: its status, and for gRPC the `grpc-status` name (`UNAVAILABLE`). */
  | { readonly kind: 'status'; readonly status: number; readonly grpcStatus?: string };

export interface RetryVerdict {
  readonly retry: boolean;
  /** The retryOn token that allowed the retry, or why there is none. */
  readonly reason: string;
}

/**
 * Whether to retry after a failed try. `retriesSoFar` counts retries already made (0 after the
 * first try). Resets, including connect failures, are retried under `5xx`, `gateway-error` and
 * `reset`, as Envoy counts a reset as a 5xx.
 * @example retryDecision(DEFAULT_RETRY_POLICY, { kind: 'connect-failure' }, 0).retry === true
 */
export function retryDecision(policy: RetryPolicy, outcome: RetryOutcome, retriesSoFar: number): RetryVerdict {
  if (policy.attempts === 0) return { retry: false, reason: 'retries are disabled' };
  if (retriesSoFar >= policy.attempts) return { retry: false, reason: `the retry limit (${policy.attempts}) is reached` };
  const token = retryToken(policy, outcome);
  return token === undefined ? { retry: false, reason: `retryOn does not cover ${describeOutcome(outcome)}` } : { retry: true, reason: token };
}

function retryToken(p: RetryPolicy, o: RetryOutcome): string | undefined {
  const on = (t: string) => p.retryOn.has(t);
  const first = (...ts: string[]) => ts.find(on);
  switch (o.kind) {
    case 'connect-failure':
      return first('connect-failure', 'reset-before-request', '5xx', 'gateway-error', 'reset');
    case 'refused-stream':
      return first('refused-stream', 'reset-before-request', '5xx', 'gateway-error', 'reset');
    case 'reset':
      return o.beforeRequest === true ? first('reset-before-request', '5xx', 'gateway-error', 'reset') : first('5xx', 'gateway-error', 'reset');
    case 'timeout':
      return first('5xx', 'gateway-error', 'reset');
    case 'status': {
      if (o.grpcStatus !== undefined) {
        const grpc = Object.keys(GRPC_RETRY_ON).find((t) => on(t) && GRPC_RETRY_ON[t] === o.grpcStatus);
        if (grpc !== undefined) return grpc;
      }
      if (o.status >= 500 && o.status <= 599 && on('5xx')) return '5xx';
      if ((o.status === 502 || o.status === 503 || o.status === 504) && on('gateway-error')) return 'gateway-error';
      if (o.status === 409 && on('retriable-4xx')) return 'retriable-4xx';
      if (on('retriable-status-codes') && p.retriableStatusCodes.has(o.status)) return 'retriable-status-codes';
      return undefined;
    }
  }
}

function describeOutcome(o: RetryOutcome): string {
  if (o.kind === 'status') return o.grpcStatus === undefined ? `status ${o.status}` : `status ${o.status} (grpc ${o.grpcStatus})`;
  return o.kind;
}

/**
 * Milliseconds to wait before retry number `retry` (1 for the first): Envoy's jittered
 * exponential back-off, uniform in [0, (2^retry - 1) x base), capped at ten times the base.
 * @param random a source in [0, 1), injected so the engine stays deterministic under test
 */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const n = Math.min(Math.max(1, Math.floor(retry)), 30);
  const ceiling = (2 ** n - 1) * policy.backoffBaseMs;
  return Math.min(Math.floor(clamp01(random()) * ceiling), policy.backoffMaxMs);
}

/** A random draw forced into [0, 1): a broken source cannot push a decision outside its range. */
export function clamp01(x: number): number {
  if (!(x >= 0)) return 0;
  return x >= 1 ? 1 - Number.EPSILON : x;
}
