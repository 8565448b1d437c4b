// Builders for routing tests: services as a snapshot carries them, resources from YAML (validated
// as `weft apply` does) or from plain objects (to reach what validation refuses), requests, and a
// seeded random source.
import { deepFreeze } from '../../config/freeze.js';
import type { Resource, VirtualService, VirtualServiceSpec } from '../../config/generated/types.js';
import { formatIssue } from '../../config/issue.js';
import { defaultMeshConfigSpec, type StoredResource } from '../../config/stored.js';
import { parseResources } from '../../config/validate.js';
import { compileRoutes } from '../compile.js';
import type { RouteRequest } from '../request.js';
import type { RouteTable } from '../route-table.js';
import type { CallerView, ServiceView } from '../types.js';

let counter = 0;

/** Adds the metadata a store sets; creation times increase with each call unless given. */
export function stored<R extends Resource>(r: R, creationTimestamp?: string): StoredResource<R> {
  counter++;
  const ts = creationTimestamp ?? new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString();
  return deepFreeze({ ...r, metadata: { ...r.metadata, resourceVersion: String(counter), creationTimestamp: ts, generation: 1 } }) as StoredResource<R>;
}

/** Parses YAML documents as `weft apply` does (throws on any issue) and stores them in order. */
export function fromYaml(yaml: string): StoredResource[] {
  const parsed = parseResources(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join('\n'));
  return parsed.value.map((r) => stored(r));
}

/** A VirtualService from a plain spec, not validated. */
export function vs(namespace: string, name: string, spec: VirtualServiceSpec, creationTimestamp?: string): StoredResource<VirtualService> {
  return stored({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace }, spec }, creationTimestamp);
}

export function service(name: string, namespace: string, ports: readonly number[] = [9080]): ServiceView {
  return { name, namespace, ports: ports.map((port) => ({ name: `http-${port}`, port, protocol: 'http' })), endpoints: [] };
}

/** The bookinfo-like services most tests route between. */
export const SERVICES: readonly ServiceView[] = [
  service('reviews', 'default'),
  service('ratings', 'default'),
  service('productpage', 'default', [9080, 9443]),
  service('details', 'shop', [80]),
];

export const CALLER: CallerView = { namespace: 'default', labels: { app: 'productpage', version: 'v1' }, locality: '' };

export function table(resources: readonly StoredResource[], options: { caller?: CallerView; services?: readonly ServiceView[]; registryOnly?: boolean } = {}): RouteTable {
  const base = defaultMeshConfigSpec();
  const mesh = options.registryOnly === true ? { ...base, outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' as const } } : base;
  return compileRoutes({ mesh, caller: options.caller ?? CALLER, resources, services: options.services ?? SERVICES, clusterDomain: 'cluster.local' });
}

/** A request; headers by lowercase name. */
export function req(host: string, over: Partial<Omit<RouteRequest, 'header'>> & { headers?: Record<string, string | string[]> } = {}): RouteRequest {
  const headers = over.headers ?? {};
  return {
    host,
    port: over.port ?? 9080,
    method: over.method ?? 'GET',
    path: over.path ?? '/',
    scheme: over.scheme ?? 'http',
    authority: over.authority ?? 'reviews:9080',
    header: (n) => headers[n],
  };
}

export const REVIEWS = 'reviews.default.svc.cluster.local';
export const RATINGS = 'ratings.default.svc.cluster.local';

/** mulberry32: a small seeded generator in [0, 1), so distribution tests are deterministic. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
