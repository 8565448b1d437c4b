// The traffic policy a destination cluster runs with, every field resolved to the value Istio
// writes into Envoy's cluster (pilot's cluster_traffic_policy.go) or, where Istio writes nothing,
// Envoy's own default. Istio reads 0 as "unset" for the connection pool numbers, so 0 means the
// default here too.
import type {
  ClientTLSSettings,
  ConnectionPoolSettings,
  LoadBalancerSettings,
  LocalityLoadBalancerSetting,
  OutlierDetection,
} from '../config/generated/types.js';
import { goDurationMs } from './duration.js';

/** What Istio writes for "no limit" in the circuit breaker thresholds (uint32 max). */
export const UNLIMITED = 4_294_967_295;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;
export const DEFAULT_RING_SIZE = 1024;
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
/**
 * The largest ring weft builds. Envoy caps at 8,388,608 entries (and config validation refuses a
 * larger minimum); weft's ring costs 12 bytes an entry, so a sidecar holding many clusters stops
 * at 2^20 (12 MiB) and the hash quality at that size is already far beyond any endpoint count.
 */
export const MAX_RING_SIZE = 1_048_576;
/** Envoy's `healthy_panic_threshold` when Istio writes none (no outlierDetection block). */
export const ENVOY_PANIC_THRESHOLD_PERCENT = 50;
/** Envoy's `max_ejection_time` default; Istio does not set it. */
export const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;

export type SimpleAlgorithm = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST' | 'PASSTHROUGH';

/** Where a consistent hash takes its key from. */
export type HashKeySource =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly path: string | undefined; readonly ttlMs: number | undefined; readonly attributes: readonly { readonly name: string; readonly value?: string }[] }
  | { readonly kind: 'source-ip' }
  | { readonly kind: 'query'; readonly name: string }
  /** consistentHash without a key: Envoy computes no hash and picks at random. */
  | { readonly kind: 'none' };

export type HashAlgorithm = { readonly kind: 'ring-hash'; readonly minimumRingSize: number } | { readonly kind: 'maglev'; readonly tableSize: number };

export type LoadBalancerPolicy =
  | { readonly kind: 'simple'; readonly algorithm: SimpleAlgorithm }
  | { readonly kind: 'consistent-hash'; readonly key: HashKeySource; readonly algorithm: HashAlgorithm };

export interface ConnectionPoolLimits {
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** 0: unlimited. */
  readonly maxRequestsPerConnection: number;
  /** 0: never closed for idleness. */
  readonly idleTimeoutMs: number;
  /** undefined: none. */
  readonly maxConnectionDurationMs: number | undefined;
}

export interface OutlierPolicy {
  /** 0: off. */
  readonly consecutive5xxErrors: number;
  /** 0: off. */
  readonly consecutiveGatewayErrors: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly consecutiveLocalOriginFailures: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  /** Statuses that count as errors instead of 5xx (outlierDetectionHttpErrorCodes); undefined: 5xx. */
  readonly errorStatuses: ReadonlySet<number> | undefined;
}

/** The effective policy of one destination (host, subset, port). */
export interface ClusterPolicy {
  readonly loadBalancer: LoadBalancerPolicy;
  /** The rule's localityLbSetting, or undefined; whether it applies is decided with the caller's locality. */
  readonly locality: LocalityLoadBalancerSetting | undefined;
  readonly connectionPool: ConnectionPoolLimits;
  /** undefined: no outlier detection (and, as in Istio, no locality failover). */
  readonly outlierDetection: OutlierPolicy | undefined;
  /** Envoy's healthy panic threshold, percent: minHealthPercent with outlier detection, else Envoy's 50. */
  readonly panicThresholdPercent: number;
  readonly tls: ClientTLSSettings | undefined;
  /** `namespace/name` of the rules the policy came from (merged rules list the first), or [] for none. */
  readonly rules: readonly string[];
}

/** The four blocks a port or subset replaces as a whole. */
export interface PolicyBlocks {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTLSSettings;
}

/**
 * Milliseconds of a Go duration as config validation accepts it ("10s", "1h30m", "250ms", "0");
 * a text it cannot read gives `fallback`, so a policy never half-applies.
 */
export function durationMs(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : (goDurationMs(text) ?? fallback);
}

const positive = (v: number | undefined, fallback: number): number => (v === undefined || v <= 0 ? fallback : v);

/** Envoy's bound on a Maglev table. */
export const MAGLEV_MAX_TABLE_SIZE = 5_000_011;

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * The table size to build: validation refuses a non-prime or oversized one, but a table that is not
 * prime would make the build loop forever, so anything else falls back to the default here too.
 */
export function maglevTableSize(size: number | undefined): number {
  return size !== undefined && size < MAGLEV_MAX_TABLE_SIZE && isPrime(size) ? size : DEFAULT_MAGLEV_TABLE_SIZE;
}

export function resolveLoadBalancer(lb: LoadBalancerSettings | undefined): LoadBalancerPolicy {
  const ch = lb?.consistentHash;
  if (ch !== undefined) {
    const algorithm: HashAlgorithm = ch.maglev !== undefined
      ? { kind: 'maglev', tableSize: maglevTableSize(ch.maglev.tableSize) }
      : { kind: 'ring-hash', minimumRingSize: Math.min(MAX_RING_SIZE, positive(ch.ringHash?.minimumRingSize ?? ch.minimumRingSize, DEFAULT_RING_SIZE)) };
    return { kind: 'consistent-hash', key: hashKeyOf(ch), algorithm };
  }
  switch (lb?.simple) {
    case 'ROUND_ROBIN': return { kind: 'simple', algorithm: 'ROUND_ROBIN' };
    case 'RANDOM': return { kind: 'simple', algorithm: 'RANDOM' };
    case 'PASSTHROUGH': return { kind: 'simple', algorithm: 'PASSTHROUGH' };
    // UNSPECIFIED and the deprecated LEAST_CONN are LEAST_REQUEST since Istio 1.14.
    default: return { kind: 'simple', algorithm: 'LEAST_REQUEST' };
  }
}

function hashKeyOf(ch: NonNullable<LoadBalancerSettings['consistentHash']>): HashKeySource {
  if (ch.httpHeaderName !== undefined) return { kind: 'header', name: ch.httpHeaderName.toLowerCase() };
  if (ch.httpCookie !== undefined) {
    const ttl = ch.httpCookie.ttl === undefined ? undefined : durationMs(ch.httpCookie.ttl, 0);
    return { kind: 'cookie', name: ch.httpCookie.name, path: ch.httpCookie.path, ttlMs: ttl, attributes: ch.httpCookie.attributes ?? [] };
  }
  if (ch.httpQueryParameterName !== undefined) return { kind: 'query', name: ch.httpQueryParameterName };
  return ch.useSourceIp === true ? { kind: 'source-ip' } : { kind: 'none' };
}

export function resolveConnectionPool(pool: ConnectionPoolSettings | undefined): ConnectionPoolLimits {
  const tcp = pool?.tcp;
  const http = pool?.http;
  const idle = http?.idleTimeout ?? tcp?.idleTimeout;
  return {
    maxConnections: positive(tcp?.maxConnections, UNLIMITED),
    connectTimeoutMs: positive(durationMs(tcp?.connectTimeout, 0), DEFAULT_CONNECT_TIMEOUT_MS),
    maxPendingRequests: positive(http?.http1MaxPendingRequests, UNLIMITED),
    maxRequests: positive(http?.http2MaxRequests, UNLIMITED),
    maxRetries: positive(http?.maxRetries, UNLIMITED),
    maxRequestsPerConnection: Math.max(0, http?.maxRequestsPerConnection ?? 0),
    idleTimeoutMs: durationMs(idle, DEFAULT_IDLE_TIMEOUT_MS),
    maxConnectionDurationMs: tcp?.maxConnectionDuration === undefined ? undefined : durationMs(tcp.maxConnectionDuration, 0) || undefined,
  };
}

export function resolveOutlierDetection(od: OutlierDetection | undefined): OutlierPolicy | undefined {
  if (od === undefined) return undefined;
  // The deprecated consecutiveErrors counts gateway errors only and turns the 5xx count off;
  // consecutive5xxErrors, when set, takes the 5xx count back.
  let fiveXx = 5;
  let gateway = 0;
  if (od.consecutiveErrors !== undefined && od.consecutiveErrors > 0) {
    gateway = od.consecutiveErrors;
    fiveXx = 0;
  }
  if (od.consecutive5xxErrors !== undefined) fiveXx = od.consecutive5xxErrors;
  if (od.consecutiveGatewayErrors !== undefined) gateway = od.consecutiveGatewayErrors;
  const codes = od.outlierDetectionHttpErrorCodes;
  return {
    consecutive5xxErrors: fiveXx,
    consecutiveGatewayErrors: gateway,
    splitExternalLocalOriginErrors: od.splitExternalLocalOriginErrors === true,
    consecutiveLocalOriginFailures: positive(od.consecutiveLocalOriginFailures, 5),
    intervalMs: positive(durationMs(od.interval, 0), 10_000),
    baseEjectionTimeMs: positive(durationMs(od.baseEjectionTime, 0), 30_000),
    maxEjectionTimeMs: DEFAULT_MAX_EJECTION_TIME_MS,
    maxEjectionPercent: od.maxEjectionPercent ?? 10,
    errorStatuses: codes === undefined || codes.length === 0 ? undefined : new Set(codes),
  };
}

/** The cluster policy of a set of blocks; `rules` names where they came from. */
export function resolvePolicy(blocks: PolicyBlocks | undefined, rules: readonly string[]): ClusterPolicy {
  const outlier = resolveOutlierDetection(blocks?.outlierDetection);
  return {
    loadBalancer: resolveLoadBalancer(blocks?.loadBalancer),
    locality: blocks?.loadBalancer?.localityLbSetting,
    connectionPool: resolveConnectionPool(blocks?.connectionPool),
    outlierDetection: outlier,
    panicThresholdPercent: blocks?.outlierDetection === undefined ? ENVOY_PANIC_THRESHOLD_PERCENT : (blocks.outlierDetection.minHealthPercent ?? 0),
    tls: blocks?.tls,
    rules,
  };
}
