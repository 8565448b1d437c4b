// Builders for the cluster engine's tests: DestinationRules in their stored form, services with
// endpoints, and a caller.
import { deepFreeze } from '../../config/freeze.js';
import type { DestinationRule, DestinationRuleSpec } from '../../config/generated/types.js';
import { defaultMeshConfigSpec, type StoredResource } from '../../config/stored.js';
import type { CallerView, EndpointView, ServiceView } from '../types.js';

let counter = 0;

/** A DestinationRule as a store returns it; each call is one second younger than the last. */
export function dr(namespace: string, name: string, spec: DestinationRuleSpec, extra: { creationTimestamp?: string } = {}): StoredResource<DestinationRule> {
  counter++;
  const creationTimestamp = extra.creationTimestamp ?? new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString();
  return deepFreeze({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name, namespace, resourceVersion: String(counter), creationTimestamp, generation: 1 },
    spec,
  }) as StoredResource<DestinationRule>;
}

export function endpoint(i: number, extra: Partial<EndpointView> = {}): EndpointView {
  const address = `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  return { key: `${address}:15006`, address, port: 15006, spiffeId: `spiffe://cluster.local/ns/shop/sa/ep${i}`, labels: {}, locality: '', healthy: true, ...extra };
}

export function endpoints(n: number, extra: (i: number) => Partial<EndpointView> = () => ({})): EndpointView[] {
  return Array.from({ length: n }, (_, i) => endpoint(i, extra(i)));
}

export function service(name: string, namespace: string, eps: readonly EndpointView[] = []): ServiceView {
  return { name, namespace, ports: [{ name: 'http', port: 80, protocol: 'http' }], endpoints: eps };
}

export const CALLER: CallerView = { namespace: 'web', labels: { app: 'frontend' }, locality: 'eu/eu-a/r1' };

export const MESH = defaultMeshConfigSpec();

/** A deterministic `random()` (mulberry32) so balancer tests repeat exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
