// Envoy's outlier detection for one destination cluster of one calling sidecar, as Istio
// configures it (consecutive 5xx and gateway errors, optional local-origin split, success-rate
// ejection off). A pure state machine: the proxy reports outcomes and calls `tick` every
// `intervalMs`; time only ever comes in as an argument.
import type { OutlierPolicy } from './cluster-policy.js';
import type { EjectionView } from './cluster-balancer.js';

/**
 * What one attempt to an endpoint came to. `local-origin-*` are the proxy's own observations
 * (connect failure or timeout, reset; connection established), the others the upstream's status.
 */
export type Outcome = 'success' | '5xx' | 'gateway-error' | 'local-origin-failure' | 'local-origin-success';

/** The outcome of an upstream status: 502-504 are gateway errors, other 5xx plain 5xx (or the rule's own list). */
export function outcomeOfStatus(status: number, policy?: OutlierPolicy): Outcome {
  const gateway = status === 502 || status === 503 || status === 504;
  if (policy?.errorStatuses !== undefined) return policy.errorStatuses.has(status) ? (gateway ? 'gateway-error' : '5xx') : 'success';
  if (status >= 500 && status <= 599) return gateway ? 'gateway-error' : '5xx';
  return 'success';
}

export type EjectionReason = 'consecutive-5xx' | 'consecutive-gateway-errors' | 'consecutive-local-origin-failures';

export interface OutlierStats {
  /** Ejections carried out, ever. */
  readonly ejectionsTotal: number;
  /** Endpoints ejected now. */
  readonly ejectionsActive: number;
  /** Ejections refused because maxEjectionPercent was reached. */
  readonly ejectionsOverflow: number;
  readonly ejectionsByReason: Readonly<Record<EjectionReason, number>>;
}

interface HostMonitor {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocal: number;
  ejected: boolean;
  ejectedAtMs: number;
  /** When the ejection may end: ejectedAt + min(base × backoff, max(maxEjectionTime, base)). */
  untilMs: number;
  /** Envoy's ejection backoff: +1 per ejection, −1 per interval spent healthy. */
  backoff: number;
}

export class OutlierDetector implements EjectionView {
  readonly #policy: OutlierPolicy;
  readonly #hosts = new Map<string, HostMonitor>();
  #version = 0;
  #active = 0;
  #total = 0;
  #overflow = 0;
  readonly #byReason: Record<EjectionReason, number> = { 'consecutive-5xx': 0, 'consecutive-gateway-errors': 0, 'consecutive-local-origin-failures': 0 };
  #nextExpiry = Infinity;

  constructor(policy: OutlierPolicy) {
    this.#policy = policy;
  }

  get intervalMs(): number {
    return this.#policy.intervalMs;
  }

  get version(): number {
    return this.#version;
  }

  /** When the earliest ejection lapses even without a tick (see isEjected). */
  get nextExpiryMs(): number {
    return this.#nextExpiry;
  }

  get stats(): OutlierStats {
    return { ejectionsTotal: this.#total, ejectionsActive: this.#active, ejectionsOverflow: this.#overflow, ejectionsByReason: { ...this.#byReason } };
  }

  /** The cluster's endpoints now: new ones are watched, gone ones forgotten (their ejection with them). */
  syncHosts(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const [key, m] of this.#hosts) {
      if (keep.has(key)) continue;
      this.#hosts.delete(key);
      if (m.ejected) {
        this.#active--;
        this.#changed();
      }
    }
    for (const key of keep) if (!this.#hosts.has(key)) this.#hosts.set(key, newMonitor());
  }

  /**
   * Ejected until the interval tick after its time; should ticks stop coming, an endpoint still
   * returns one interval after its time, so a stalled timer never keeps endpoints out for good.
   */
  isEjected(key: string, nowMs: number): boolean {
    const m = this.#hosts.get(key);
    return m !== undefined && m.ejected && nowMs < m.untilMs + this.#policy.intervalMs;
  }

  /** Counts one outcome; returns the reason when it ejected the endpoint. An unknown key starts being watched. */
  record(key: string, outcome: Outcome, nowMs: number): EjectionReason | undefined {
    let m = this.#hosts.get(key);
    if (m === undefined) {
      m = newMonitor();
      this.#hosts.set(key, m);
    }
    const p = this.#policy;
    let outcomeNow = outcome;
    if (!p.splitExternalLocalOriginErrors) {
      // Without the split a failed connection is what Envoy turns it into: a 503.
      if (outcome === 'local-origin-failure') outcomeNow = 'gateway-error';
      else if (outcome === 'local-origin-success') return undefined;
    }
    switch (outcomeNow) {
      case 'success':
        m.consecutive5xx = 0;
        m.consecutiveGateway = 0;
        return undefined;
      case 'local-origin-success':
        m.consecutiveLocal = 0;
        return undefined;
      case 'local-origin-failure':
        m.consecutiveLocal++;
        if (p.consecutiveLocalOriginFailures > 0 && m.consecutiveLocal >= p.consecutiveLocalOriginFailures) {
          m.consecutiveLocal = 0;
          return this.#eject(m, 'consecutive-local-origin-failures', nowMs);
        }
        return undefined;
      case '5xx':
      case 'gateway-error': {
        if (outcomeNow === 'gateway-error') m.consecutiveGateway++;
        else m.consecutiveGateway = 0;
        m.consecutive5xx++;
        if (p.consecutiveGatewayErrors > 0 && m.consecutiveGateway >= p.consecutiveGatewayErrors) {
          m.consecutiveGateway = 0;
          return this.#eject(m, 'consecutive-gateway-errors', nowMs);
        }
        if (p.consecutive5xxErrors > 0 && m.consecutive5xx >= p.consecutive5xxErrors) {
          m.consecutive5xx = 0;
          return this.#eject(m, 'consecutive-5xx', nowMs);
        }
        return undefined;
      }
    }
  }

  /** The interval timer: returns endpoints whose time is up, and lets healthy ones' backoff decay. */
  tick(nowMs: number): string[] {
    const returned: string[] = [];
    for (const [key, m] of this.#hosts) {
      if (!m.ejected) {
        if (m.backoff > 0) m.backoff--;
        continue;
      }
      if (nowMs >= m.untilMs) {
        m.ejected = false;
        m.consecutive5xx = 0;
        m.consecutiveGateway = 0;
        m.consecutiveLocal = 0;
        this.#active--;
        returned.push(key);
      }
    }
    if (returned.length > 0) this.#changed();
    return returned;
  }

  /**
   * Ejects unless that would pass maxEjectionPercent of the watched endpoints. As in Envoy, the
   * first ejection always happens when the percentage is above 0 (so the default 10% of a
   * 3-endpoint service still holds out its one failing endpoint); further ones only while the
   * count after ejecting stays within the percentage (Envoy compares the count before ejecting
   * and can overshoot by one endpoint; weft does not).
   */
  #eject(m: HostMonitor, reason: EjectionReason, nowMs: number): EjectionReason | undefined {
    if (m.ejected) return undefined;
    const p = this.#policy;
    const n = this.#hosts.size;
    const allowed = p.maxEjectionPercent > 0 && (this.#active === 0 || ((this.#active + 1) * 100) / n <= p.maxEjectionPercent);
    if (!allowed) {
      this.#overflow++;
      return undefined;
    }
    const cap = Math.max(p.maxEjectionTimeMs, p.baseEjectionTimeMs);
    if (p.baseEjectionTimeMs * m.backoff < cap) m.backoff++;
    m.ejected = true;
    m.ejectedAtMs = nowMs;
    m.untilMs = nowMs + Math.min(p.baseEjectionTimeMs * m.backoff, cap);
    this.#active++;
    this.#total++;
    this.#byReason[reason]++;
    this.#changed();
    return reason;
  }

  #changed(): void {
    this.#version++;
    let next = Infinity;
    for (const m of this.#hosts.values()) if (m.ejected) next = Math.min(next, m.untilMs + this.#policy.intervalMs);
    this.#nextExpiry = next;
  }
}

function newMonitor(): HostMonitor {
  return { consecutive5xx: 0, consecutiveGateway: 0, consecutiveLocal: 0, ejected: false, ejectedAtMs: 0, untilMs: 0, backoff: 0 };
}
