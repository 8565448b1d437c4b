// Envoy's circuit breaker thresholds for one destination cluster (default priority), from the
// DestinationRule's connectionPool. The proxy acquires a slot before each connection, queued
// request, request and retry, and releases it when done; a refused acquire is an overflow, which
// the proxy answers with 503, response flag UO and `x-envoy-overloaded: true`.
import type { ConnectionPoolLimits } from './cluster-policy.js';

export type BreakerResource = 'connection' | 'pending' | 'request' | 'retry';
export type Admission = 'ok' | 'overflow';

export interface BreakerStats {
  /** In use now, per resource. */
  readonly active: Readonly<Record<BreakerResource, number>>;
  /** Acquires refused, ever, per resource (Envoy's upstream_cx_overflow, upstream_rq_pending_overflow, upstream_rq_retry_overflow...). */
  readonly overflows: Readonly<Record<BreakerResource, number>>;
}

export class CircuitBreaker {
  readonly limits: ConnectionPoolLimits;
  readonly #max: Record<BreakerResource, number>;
  readonly #active: Record<BreakerResource, number> = { connection: 0, pending: 0, request: 0, retry: 0 };
  readonly #overflows: Record<BreakerResource, number> = { connection: 0, pending: 0, request: 0, retry: 0 };

  constructor(limits: ConnectionPoolLimits) {
    this.limits = limits;
    this.#max = { connection: limits.maxConnections, pending: limits.maxPendingRequests, request: limits.maxRequests, retry: limits.maxRetries };
  }

  get connectTimeoutMs(): number {
    return this.limits.connectTimeoutMs;
  }

  get idleTimeoutMs(): number {
    return this.limits.idleTimeoutMs;
  }

  /** 0: unlimited; 1 turns keep-alive off. */
  get maxRequestsPerConnection(): number {
    return this.limits.maxRequestsPerConnection;
  }

  tryAcquire(resource: BreakerResource): Admission {
    if (this.#active[resource] >= this.#max[resource]) {
      this.#overflows[resource]++;
      return 'overflow';
    }
    this.#active[resource]++;
    return 'ok';
  }

  /** Gives back a slot taken by a successful tryAcquire; a release without one is ignored. */
  release(resource: BreakerResource): void {
    if (this.#active[resource] > 0) this.#active[resource]--;
  }

  /** Slots left before the resource overflows (Envoy's `remaining_*` gauges). */
  remaining(resource: BreakerResource): number {
    return Math.max(0, this.#max[resource] - this.#active[resource]);
  }

  get stats(): BreakerStats {
    return { active: { ...this.#active }, overflows: { ...this.#overflows } };
  }
}
