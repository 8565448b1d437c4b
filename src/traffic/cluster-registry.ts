// The per-cluster state of one calling sidecar: a balancer, an outlier detector and a circuit
// breaker for each destination cluster (`outbound|port|subset|host`). State survives new
// snapshots while the cluster's policy stays the same, so a configuration push does not forget
// which endpoints are ejected or how many requests are in flight.
import type { LoadView } from './balancers.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { ClusterBalancer } from './cluster-balancer.js';
import type { ClusterPolicy } from './cluster-policy.js';
import { OutlierDetector, type OutlierStats } from './outlier.js';
import type { BreakerStats } from './circuit-breaker.js';
import type { CallerView } from './types.js';

/** Envoy's (and Istio's) cluster name: `outbound|80|v1|reviews.shop.svc.cluster.local`. */
export function clusterName(fqdn: string, subset: string | undefined, port: number): string {
  return `outbound|${port}|${subset ?? ''}|${fqdn}`;
}

export interface ClusterState {
  readonly name: string;
  readonly policy: ClusterPolicy;
  readonly balancer: ClusterBalancer;
  /** undefined when the policy has no outlierDetection. */
  readonly outlier: OutlierDetector | undefined;
  readonly breaker: CircuitBreaker;
}

export interface ClusterStats {
  readonly name: string;
  readonly outlier: OutlierStats | undefined;
  readonly breaker: BreakerStats;
}

/** Past this many clusters, new ones get state that is not kept (a bound against runaway names). */
const MAX_CLUSTERS = 10_000;

interface Entry {
  state: ClusterState;
  nextTickMs: number;
  outlierKey: string;
  policyKey: string;
}

const keys = new WeakMap<object, string>();
/** A structural key of part of a policy, computed once per policy object. */
function keyOf(part: object | undefined): string {
  if (part === undefined) return '';
  let k = keys.get(part);
  if (k === undefined) {
    k = JSON.stringify(part, (_, v: unknown) => (v instanceof Set ? [...(v as Set<unknown>)] : v));
    keys.set(part, k);
  }
  return k;
}

export class ClusterRegistry {
  readonly #caller: CallerView;
  readonly #random: () => number;
  readonly #load: LoadView | undefined;
  readonly #clusters = new Map<string, Entry>();

  constructor(opts: { caller: CallerView; random: () => number; load?: LoadView }) {
    this.#caller = opts.caller;
    this.#random = opts.random;
    this.#load = opts.load;
  }

  get size(): number {
    return this.#clusters.size;
  }

  /**
   * The state of cluster `name` under `policy`. A policy equal to the one in force keeps the
   * state; a changed one builds a new balancer and breaker, and keeps the outlier detector (its
   * ejections) when the outlierDetection block is the same.
   */
  cluster(name: string, policy: ClusterPolicy, nowMs: number): ClusterState {
    const entry = this.#clusters.get(name);
    if (entry !== undefined && entry.state.policy === policy) return entry.state;
    const policyKey = keyOf(policy);
    if (entry !== undefined && entry.policyKey === policyKey) {
      entry.state = { ...entry.state, policy };
      return entry.state;
    }
    const outlierKey = keyOf(policy.outlierDetection);
    const outlier = entry !== undefined && entry.outlierKey === outlierKey
      ? entry.state.outlier
      : policy.outlierDetection === undefined ? undefined : new OutlierDetector(policy.outlierDetection);
    const balancer = new ClusterBalancer({ policy, caller: this.#caller, random: this.#random, ...(this.#load === undefined ? {} : { load: this.#load }), ...(outlier === undefined ? {} : { ejections: outlier }) });
    const state: ClusterState = { name, policy, balancer, outlier, breaker: new CircuitBreaker(policy.connectionPool) };
    if (entry !== undefined) {
      entry.state = state;
      entry.policyKey = policyKey;
      if (entry.outlierKey !== outlierKey) entry.nextTickMs = nowMs + (outlier?.intervalMs ?? 0);
      entry.outlierKey = outlierKey;
    } else if (this.#clusters.size < MAX_CLUSTERS) {
      this.#clusters.set(name, { state, policyKey, outlierKey, nextTickMs: nowMs + (outlier?.intervalMs ?? 0) });
    }
    return state;
  }

  /**
   * Runs every outlier detector whose interval has come; the proxy calls this from one timer (a
   * second or so). Returns the endpoints that came back, per cluster.
   */
  tick(nowMs: number): Map<string, string[]> {
    const returned = new Map<string, string[]>();
    for (const [name, entry] of this.#clusters) {
      const outlier = entry.state.outlier;
      if (outlier === undefined || nowMs < entry.nextTickMs) continue;
      // A late timer runs one sweep, not one per missed interval, as Envoy's timer does.
      entry.nextTickMs = nowMs + outlier.intervalMs;
      const back = outlier.tick(nowMs);
      if (back.length > 0) returned.set(name, back);
    }
    return returned;
  }

  /** Forgets clusters no longer in use (not among `names`). */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.#clusters.keys()) if (!names.has(name)) this.#clusters.delete(name);
  }

  stats(): ClusterStats[] {
    return [...this.#clusters.values()].map(({ state }) => ({ name: state.name, outlier: state.outlier?.stats, breaker: state.breaker.stats }));
  }
}
