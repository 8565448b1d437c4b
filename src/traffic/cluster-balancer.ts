// One destination cluster's balancer: the endpoints split by locality into priorities, each
// priority's healthy share deciding how much load it takes (Envoy's priority load and panic
// threshold), then the policy's algorithm choosing within the pool. The split is computed once
// per endpoint list and health state; `pick` itself allocates only its answer.
import { HOST_SELECTION_ATTEMPTS, LeastRequest, RandomChoice, RoundRobin, type Chooser, type EndpointFilter, type LoadView } from './balancers.js';
import type { ClusterPolicy } from './cluster-policy.js';
import { ConsistentHash, requestHash, type AffinityCookie, type HashInput } from './consistent-hash.js';
import { OVERPROVISIONING_FACTOR, planLocality, priorityLoad } from './locality.js';
import type { CallerView, EndpointView } from './types.js';

/** Which endpoints outlier detection holds out; OutlierDetector implements it. */
export interface EjectionView {
  isEjected(key: string, nowMs: number): boolean;
  /** Changes whenever an endpoint is ejected or returned. */
  readonly version: number;
  /** When the earliest current ejection lapses; Infinity when none. */
  readonly nextExpiryMs: number;
}

export interface ClusterBalancerOptions {
  readonly policy: ClusterPolicy;
  readonly caller: CallerView;
  readonly random: () => number;
  readonly load?: LoadView;
  readonly ejections?: EjectionView;
}

export interface PickContext {
  readonly nowMs: number;
  /** Endpoints to pass over if any other will do (the hosts a retry already tried). */
  readonly avoid?: EndpointFilter;
  /** The request, for consistent hashing. */
  readonly request?: HashInput;
}

export type Pick =
  | {
      readonly kind: 'endpoint';
      readonly endpoint: EndpointView;
      /** Chosen in panic mode: from all endpoints of its priority, healthy or not. */
      readonly panic: boolean;
      readonly priority: number;
      /** A generated affinity cookie the response must set. */
      readonly cookie: AffinityCookie | undefined;
    }
  /** PASSTHROUGH: no balancing, connect to the address the application asked for. */
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'none'; readonly reason: 'no-endpoints' | 'no-healthy-upstream' };

interface Group {
  readonly all: readonly EndpointView[];
  readonly healthy: readonly EndpointView[];
  readonly weight: number;
  /** weight × min(1, 1.4 × healthy share): what the group weighs outside panic. */
  readonly effectiveWeight: number;
}

interface Priority {
  readonly groups: readonly Group[];
  readonly all: readonly EndpointView[];
  readonly healthy: readonly EndpointView[];
}

interface Layout {
  readonly endpoints: readonly EndpointView[];
  readonly version: number;
  readonly expiresMs: number;
  readonly priorities: readonly Priority[];
  readonly load: readonly number[];
  readonly panic: readonly boolean[];
  /** How many priorities or locality groups a pick can land in: redraws help only above 1. */
  readonly spread: number;
}

const NO_ENDPOINTS: Pick = Object.freeze({ kind: 'none', reason: 'no-endpoints' });
const NO_HEALTHY: Pick = Object.freeze({ kind: 'none', reason: 'no-healthy-upstream' });
const PASSTHROUGH: Pick = Object.freeze({ kind: 'passthrough' });

function chooserOf(policy: ClusterPolicy): Chooser | undefined {
  const lb = policy.loadBalancer;
  if (lb.kind === 'consistent-hash') return new ConsistentHash(lb.algorithm);
  switch (lb.algorithm) {
    case 'ROUND_ROBIN': return new RoundRobin();
    case 'RANDOM': return new RandomChoice();
    case 'LEAST_REQUEST': return new LeastRequest();
    case 'PASSTHROUGH': return undefined;
  }
}

export class ClusterBalancer {
  readonly #opts: ClusterBalancerOptions;
  readonly #chooser: Chooser | undefined;
  #layout: Layout | undefined;
  /** Reused for every choice: pick is synchronous, so one is enough. */
  readonly #ctx: { random: () => number; avoid: EndpointFilter | undefined; load: LoadView | undefined; hash: number | undefined };

  constructor(opts: ClusterBalancerOptions) {
    this.#opts = opts;
    this.#chooser = chooserOf(opts.policy);
    this.#ctx = { random: opts.random, avoid: undefined, load: opts.load, hash: undefined };
  }

  pick(endpoints: readonly EndpointView[], ctx: PickContext): Pick {
    if (this.#chooser === undefined) return PASSTHROUGH;
    if (endpoints.length === 0) return NO_ENDPOINTS;
    const layout = this.#layoutFor(endpoints, ctx.nowMs);
    let cookie: AffinityCookie | undefined;
    const c = this.#ctx;
    c.avoid = ctx.avoid;
    c.hash = undefined;
    const lb = this.#opts.policy.loadBalancer;
    if (lb.kind === 'consistent-hash') {
      const h = requestHash(lb.key, ctx.request);
      c.hash = h.hash;
      cookie = h.cookie;
    }
    // When the load spans priorities, a choice the caller avoids is redrawn, priority included,
    // as Envoy's host selection retries do; within one priority the chooser already passed it over.
    let first: { endpoint: EndpointView; priority: number; panic: boolean } | undefined;
    for (let attempt = 0; attempt < HOST_SELECTION_ATTEMPTS; attempt++) {
      const p = this.#choosePriority(layout.load);
      if (p === -1) break;
      const panic = layout.panic[p]!;
      const pool = this.#poolOf(layout.priorities[p]!, panic);
      const endpoint = pool.length === 0 ? undefined : this.#chooser.choose(pool, c);
      if (endpoint === undefined) continue;
      if (ctx.avoid === undefined || layout.spread <= 1 || !ctx.avoid.avoids(endpoint)) {
        c.avoid = undefined;
        return { kind: 'endpoint', endpoint, panic, priority: p, cookie };
      }
      first ??= { endpoint, priority: p, panic };
    }
    c.avoid = undefined;
    return first === undefined ? NO_HEALTHY : { kind: 'endpoint', endpoint: first.endpoint, panic: first.panic, priority: first.priority, cookie };
  }

  /** The current split, for stats and explanations: percent of load per priority and panic flags. */
  describe(endpoints: readonly EndpointView[], nowMs: number): { readonly load: readonly number[]; readonly panic: readonly boolean[]; readonly sizes: readonly number[] } {
    const l = this.#layoutFor(endpoints, nowMs);
    return { load: l.load, panic: l.panic, sizes: l.priorities.map((p) => p.all.length) };
  }

  #choosePriority(load: readonly number[]): number {
    if (load.length === 1) return load[0]! > 0 ? 0 : -1;
    let withLoad = 0;
    let only = -1;
    for (let i = 0; i < load.length; i++) {
      if (load[i]! > 0) {
        withLoad++;
        only = i;
      }
    }
    if (withLoad <= 1) return only;
    const r = this.#opts.random() * 100;
    let acc = 0;
    for (let i = 0; i < load.length; i++) {
      acc += load[i]!;
      if (r < acc) return i;
    }
    return only;
  }

  #poolOf(priority: Priority, panic: boolean): readonly EndpointView[] {
    const groups = priority.groups;
    if (groups.length === 1) return panic ? groups[0]!.all : groups[0]!.healthy;
    let total = 0;
    for (const g of groups) total += panic ? g.weight : g.effectiveWeight;
    if (total <= 0) return panic ? priority.all : priority.healthy;
    let r = this.#opts.random() * total;
    for (const g of groups) {
      r -= panic ? g.weight : g.effectiveWeight;
      if (r < 0) return panic ? g.all : g.healthy;
    }
    const last = groups[groups.length - 1]!;
    return panic ? last.all : last.healthy;
  }

  #layoutFor(endpoints: readonly EndpointView[], nowMs: number): Layout {
    const ej = this.#opts.ejections;
    const version = ej === undefined ? 0 : ej.version;
    const cached = this.#layout;
    if (cached !== undefined && cached.endpoints === endpoints && cached.version === version && nowMs < cached.expiresMs) return cached;
    const usable = (ep: EndpointView) => ep.healthy && (ej === undefined || !ej.isEjected(ep.key, nowMs));
    const plan = planLocality(endpoints, this.#opts.caller, this.#opts.policy.locality, this.#opts.policy.outlierDetection !== undefined);
    const priorities: Priority[] = plan.map((groups) => {
      const built = groups.map((g): Group => {
        const healthy = g.endpoints.filter(usable);
        const share = g.endpoints.length === 0 ? 0 : Math.min(100, (OVERPROVISIONING_FACTOR * healthy.length) / g.endpoints.length) / 100;
        return { all: g.endpoints, healthy, weight: g.weight, effectiveWeight: g.weight * share };
      });
      const all = built.length === 1 ? built[0]!.all : built.flatMap((g) => g.all);
      const healthy = built.length === 1 ? built[0]!.healthy : built.flatMap((g) => g.healthy);
      return { groups: built, all, healthy };
    });
    const { load, panic } = priorityLoad(priorities.map((p) => ({ total: p.all.length, healthy: p.healthy.length })), this.#opts.policy.panicThresholdPercent);
    const spread = load.filter((l) => l > 0).length + Math.max(0, ...priorities.map((p) => p.groups.length - 1));
    const layout: Layout = { endpoints, version, expiresMs: ej === undefined ? Infinity : ej.nextExpiryMs, priorities, load, panic, spread };
    this.#layout = layout;
    return layout;
  }
}
