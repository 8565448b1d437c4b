// Locality-aware balancing as Istio programs Envoy (pilot's loadbalancer.go) and Envoy computes
// it (load_balancer_impl.cc): endpoints get priorities by how close their locality is to the
// caller's (failover) or localities get weights (distribute); Envoy then spreads load over the
// priorities by their health, with the overprovisioning factor 1.4.
import type { LocalityLoadBalancerSetting } from '../config/generated/types.js';
import type { CallerView, EndpointView } from './types.js';

/** A set of endpoints sharing a locality weight (one group per priority without `distribute`). */
export interface LocalityGroup {
  readonly endpoints: readonly EndpointView[];
  readonly weight: number;
}

/** Endpoints by priority (0 first, none empty), each priority a list of weighted groups. */
export type PriorityPlan = readonly (readonly LocalityGroup[])[];

/** Envoy's default overprovisioning factor, as a percentage. */
export const OVERPROVISIONING_FACTOR = 140;

interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

export function parseLocality(text: string): Locality {
  const [region = '', zone = '', subzone = ''] = text.split('/');
  return { region, zone, subzone };
}

/** Istio's LocalityMatch: each part of `pattern` equals the locality's, is `*`, or (zone, subzone) is empty. */
export function localityMatches(locality: Locality, pattern: string): boolean {
  const p = parseLocality(pattern);
  return (p.region === '*' || p.region === locality.region)
    && (p.zone === '*' || p.zone === '' || p.zone === locality.zone)
    && (p.subzone === '*' || p.subzone === '' || p.subzone === locality.subzone);
}

/** Istio's LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 elsewhere. */
export function localityPriority(caller: Locality, endpoint: Locality): number {
  if (caller.region !== endpoint.region) return 3;
  if (caller.zone !== endpoint.zone) return 2;
  return caller.subzone === endpoint.subzone ? 0 : 1;
}

const LOCALITY_LABELS: Readonly<Record<string, keyof Locality>> = {
  'topology.kubernetes.io/region': 'region',
  'topology.kubernetes.io/zone': 'zone',
  'topology.istio.io/subzone': 'subzone',
};

function labelOf(labels: Readonly<Record<string, string>>, locality: Locality, key: string): string | undefined {
  const v = labels[key];
  if (v !== undefined) return v;
  const part = LOCALITY_LABELS[key];
  return part === undefined || locality[part] === '' ? undefined : locality[part];
}

/**
 * 0 when the endpoint matches the caller on every `failoverPriority` label; otherwise the count of
 * labels from the first mismatch on (an earlier label weighs more). `key=value` entries compare
 * the endpoint with the value instead of the caller.
 */
function labelPriority(labels: readonly string[], caller: CallerView, callerLocality: Locality, ep: EndpointView, epLocality: Locality): number {
  for (let j = 0; j < labels.length; j++) {
    const entry = labels[j]!;
    const eq = entry.indexOf('=');
    const key = eq === -1 ? entry : entry.slice(0, eq);
    const want = eq === -1 ? labelOf(caller.labels, callerLocality, key) : entry.slice(eq + 1);
    const have = labelOf(ep.labels, epLocality, key);
    if (want === undefined || have !== want) return labels.length - j;
  }
  return 0;
}

const single = (endpoints: readonly EndpointView[]): PriorityPlan => (endpoints.length === 0 ? [] : [[{ endpoints, weight: 1 }]]);

/**
 * How the endpoints split into priorities and weighted localities for this caller. `distribute`
 * applies whenever set; failover (priorities) only with outlier detection configured, as in Istio,
 * because without it Envoy would never see a priority become unhealthy.
 */
export function planLocality(endpoints: readonly EndpointView[], caller: CallerView, setting: LocalityLoadBalancerSetting | undefined, outlierConfigured: boolean): PriorityPlan {
  if (caller.locality === '' || setting?.enabled === false || endpoints.length === 0) return single(endpoints);
  const here = parseLocality(caller.locality);
  if (setting?.distribute !== undefined && setting.distribute.length > 0) return distribute(endpoints, here, setting.distribute);
  if (!outlierConfigured) return single(endpoints);
  const labels = setting?.failoverPriority ?? [];
  const failover = setting?.failover ?? [];
  const useLocality = labels.length === 0 || failover.length > 0;
  const keyed = endpoints.map((ep) => {
    const loc = parseLocality(ep.locality);
    let locality = 0;
    if (useLocality) {
      locality = localityPriority(here, loc);
      if (locality === 3) {
        const rule = failover.find((f) => f.from === here.region);
        if (rule !== undefined && loc.region !== rule.to) locality = 4;
      }
    }
    return { ep, key: labelPriority(labels, caller, here, ep, loc) * 5 + locality };
  });
  const keys = [...new Set(keyed.map((k) => k.key))].sort((a, b) => a - b);
  return keys.map((key) => [{ endpoints: keyed.filter((k) => k.key === key).map((k) => k.ep), weight: 1 }]);
}

/** Istio's applyLocalityWeights: the first rule whose `from` matches the caller sets the weights; unmatched localities get no traffic. */
function distribute(endpoints: readonly EndpointView[], here: Locality, rules: NonNullable<LocalityLoadBalancerSetting['distribute']>): PriorityPlan {
  const rule = rules.find((r) => localityMatches(here, r.from ?? ''));
  if (rule === undefined) return single(endpoints);
  const byLocality = new Map<string, EndpointView[]>();
  for (const ep of endpoints) {
    const list = byLocality.get(ep.locality);
    if (list === undefined) byLocality.set(ep.locality, [ep]);
    else list.push(ep);
  }
  const unmatched = new Set(byLocality.keys());
  const groups: LocalityGroup[] = [];
  for (const [pattern, weight] of Object.entries(rule.to ?? {})) {
    const matched = [...unmatched].filter((l) => localityMatches(parseLocality(l), pattern));
    const total = matched.reduce((sum, l) => sum + byLocality.get(l)!.length, 0);
    for (const l of matched) {
      unmatched.delete(l);
      const eps = byLocality.get(l)!;
      // A wildcard matching several localities shares its weight among them by size.
      const w = Math.ceil((eps.length * weight) / total);
      if (w > 0) groups.push({ endpoints: eps, weight: w });
    }
  }
  return groups.length === 0 ? [] : [groups];
}

/** Per priority: how many endpoints it has and how many are usable (healthy, not ejected). */
export interface PriorityHealth {
  readonly total: number;
  readonly healthy: number;
}

export interface PriorityLoad {
  /** Percent of requests per priority, summing to 100 (all 0 when nothing can serve). */
  readonly load: readonly number[];
  /** Per priority: pick among all its endpoints, healthy or not (Envoy's panic mode). */
  readonly panic: readonly boolean[];
}

/**
 * Envoy's priority load: each priority's health is min(100, 1.4 × healthy share); load goes to the
 * highest priorities first in proportion to health, normalised by the total health (capped at
 * 100), the rounding remainder to the first priority with any health. A priority whose healthy
 * share is below the panic threshold is in panic; when all are, load follows host counts. With
 * threshold 0 and nothing healthy, nothing is picked: "no healthy upstream".
 */
export function priorityLoad(levels: readonly PriorityHealth[], panicThresholdPercent: number): PriorityLoad {
  const n = levels.length;
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { load, panic };
  const threshold = Math.min(100, Math.max(0, panicThresholdPercent));
  const health = levels.map((l) => (l.total === 0 ? 0 : Math.min(100, Math.floor((OVERPROVISIONING_FACTOR * l.healthy) / l.total))));
  const totalHealth = Math.min(100, health.reduce((a, b) => a + b, 0));
  if (totalHealth === 0 && threshold === 0) return { load, panic };
  for (let i = 0; i < n; i++) {
    const l = levels[i]!;
    panic[i] = totalHealth === 0 || (l.total > 0 && (100 * l.healthy) / l.total < threshold);
  }
  if (panic.every(Boolean)) {
    // Total panic: every endpoint of every priority, load by host count.
    const hosts = levels.reduce((a, l) => a + l.total, 0);
    distributeLoad(load, levels.map((l) => l.total), hosts);
    return { load, panic };
  }
  distributeLoad(load, health, totalHealth);
  return { load, panic };
}

function distributeLoad(load: number[], availability: readonly number[], normalizer: number): void {
  let remaining = 100;
  let first = -1;
  for (let i = 0; i < availability.length; i++) {
    const a = availability[i]!;
    if (first === -1 && a > 0) first = i;
    const share = Math.min(remaining, Math.floor((a * 100) / normalizer));
    load[i] = share;
    remaining -= share;
  }
  if (remaining > 0 && first !== -1) load[first] = load[first]! + remaining;
}
