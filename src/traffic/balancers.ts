// Choosing one endpoint from a pool the cluster balancer has already narrowed to healthy hosts
// (or, in panic, to all of them). Each chooser passes over the endpoints the caller avoids (the
// hosts a retry already tried), and when every endpoint of the pool is to be avoided it returns
// its plain choice: as Envoy after its host selection attempts, better a likely failure than none.
import type { EndpointView } from './types.js';

/** Endpoints to pass over; an object, so the hot path allocates no closure. */
export interface EndpointFilter {
  avoids(endpoint: EndpointView): boolean;
}

/** Requests in flight per endpoint, as the proxy counts them (LEAST_REQUEST reads it). */
export interface LoadView {
  activeRequests(key: string): number;
}

export interface ChooseContext {
  readonly random: () => number;
  readonly avoid: EndpointFilter | undefined;
  readonly load: LoadView | undefined;
  /** The request's hash (consistent hashing), undefined when its key is absent. */
  readonly hash: number | undefined;
}

export interface Chooser {
  choose(pool: readonly EndpointView[], ctx: ChooseContext): EndpointView | undefined;
}

/** Envoy tries a fresh pick this many times before taking an avoided host (Istio sets 5). */
export const HOST_SELECTION_ATTEMPTS = 5;

/** The first endpoint from `start` on (wrapping) that is not avoided, or undefined. */
export function firstNotAvoided(pool: readonly EndpointView[], start: number, avoid: EndpointFilter): EndpointView | undefined {
  const n = pool.length;
  for (let k = 0; k < n; k++) {
    const ep = pool[(start + k) % n]!;
    if (!avoid.avoids(ep)) return ep;
  }
  return undefined;
}

/** Index in [0, n) from `random()`, safe against a random source returning 1. */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i >= n ? n - 1 : i < 0 ? 0 : i;
}

/**
 * Envoy's round robin with equal weights: a cursor per pool, so a new pool starts a fresh
 * rotation, at a random endpoint (as Envoy seeds it) so that sidecars do not all start on the first.
 */
export class RoundRobin implements Chooser {
  readonly #cursors = new WeakMap<readonly EndpointView[], { next: number }>();

  choose(pool: readonly EndpointView[], ctx: ChooseContext): EndpointView | undefined {
    const n = pool.length;
    if (n === 0) return undefined;
    let cursor = this.#cursors.get(pool);
    if (cursor === undefined) {
      cursor = { next: randomIndex(ctx.random, n) };
      this.#cursors.set(pool, cursor);
    }
    const start = cursor.next % n;
    let chosen = start;
    if (ctx.avoid !== undefined) {
      for (let k = 0; k < n; k++) {
        const j = (start + k) % n;
        if (!ctx.avoid.avoids(pool[j]!)) {
          chosen = j;
          break;
        }
      }
    }
    cursor.next = (chosen + 1) % n;
    return pool[chosen];
  }
}

/** Uniformly at random. */
export class RandomChoice implements Chooser {
  choose(pool: readonly EndpointView[], ctx: ChooseContext): EndpointView | undefined {
    const n = pool.length;
    if (n === 0) return undefined;
    const i = randomIndex(ctx.random, n);
    const ep = pool[i]!;
    if (ctx.avoid === undefined || !ctx.avoid.avoids(ep)) return ep;
    for (let attempt = 1; attempt < HOST_SELECTION_ATTEMPTS; attempt++) {
      const again = pool[randomIndex(ctx.random, n)]!;
      if (!ctx.avoid.avoids(again)) return again;
    }
    return firstNotAvoided(pool, i, ctx.avoid) ?? ep;
  }
}

/**
 * Envoy's LEAST_REQUEST with equal weights: the power of two choices. Two endpoints drawn at
 * random, the one with fewer active requests wins (the first on a tie). Without a load view it is
 * random.
 */
export class LeastRequest implements Chooser {
  readonly #choiceCount: number;

  constructor(choiceCount = 2) {
    this.#choiceCount = Math.max(1, choiceCount);
  }

  choose(pool: readonly EndpointView[], ctx: ChooseContext): EndpointView | undefined {
    const n = pool.length;
    if (n === 0) return undefined;
    if (n === 1) return pool[0];
    let best: EndpointView | undefined;
    let bestLoad = Infinity;
    for (let c = 0; c < this.#choiceCount; c++) {
      const i = randomIndex(ctx.random, n);
      let ep = pool[i]!;
      if (ctx.avoid !== undefined && ctx.avoid.avoids(ep)) {
        const other = firstNotAvoided(pool, i, ctx.avoid);
        if (other === undefined) break; // every endpoint avoided: fall through to the plain choice
        ep = other;
      }
      const load = ctx.load === undefined ? 0 : ctx.load.activeRequests(ep.key);
      if (load < bestLoad) {
        best = ep;
        bestLoad = load;
      }
    }
    return best ?? pool[randomIndex(ctx.random, n)];
  }
}
