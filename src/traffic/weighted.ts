// Weighted destinations (virtual_service.proto HTTPRouteDestination.weight; Istio ≥1.15 route.go):
// weights need not sum to 100, a share is weight / total, a 0 weight is skipped, and a single
// destination takes all the traffic whatever its weight.
import { clamp01 } from './retry.js';

export interface Weighted {
  readonly weight: number;
}

/**
 * The destinations that take traffic, each with its effective weight: a lone destination gets
 * 100, otherwise 0-weight ones are dropped. Weights absent from the config count as 0 when there
 * are several destinations, as Envoy reads an unset weight.
 */
export function effectiveWeights<T extends Weighted>(list: readonly T[]): T[] {
  if (list.length === 1) return [{ ...list[0]!, weight: 100 }];
  return list.filter((d) => d.weight > 0);
}

/**
 * Picks one destination by weight with one draw of `random` (a source in [0, 1)); undefined only
 * for an empty list.
 * @example pick([{ weight: 90 }, { weight: 10 }], () => 0.95).weight === 10
 */
export function pick<T extends Weighted>(list: readonly T[], random: () => number): T | undefined {
  if (list.length <= 1) return list[0];
  let total = 0;
  for (const d of list) total += d.weight;
  if (total <= 0) return list[0];
  let at = clamp01(random()) * total;
  for (const d of list) {
    at -= d.weight;
    if (at < 0) return d;
  }
  return list[list.length - 1];
}
