// compileRoutes: a snapshot's VirtualServices and ServiceEntries compiled for one calling sidecar.
// Which resources apply (Istio's rules): exportTo (`.` own namespace, `*` all, namespaces; empty:
// the mesh default `*`); gateways (none: `mesh`; a VirtualService bound only to gateways does not
// apply to sidecars). Several VirtualServices for one host are a conflict for sidecars: the
// oldest (creationTimestamp, then name, then namespace, as Istio sorts) wins and the others are
// listed in `conflicts`.
import type { MeshConfigSpec, ServiceEntry, VirtualService } from '../config/generated/types.js';
import type { StoredResource } from '../config/stored.js';
import type { RouteConflict, RouteIssue } from './decision.js';
import { hostKeyIn } from './host.js';
import { HostRegistry } from './host-registry.js';
import { RouteTable } from './route-table.js';
import type { CallerView, ServiceView } from './types.js';
import { compileVirtualService, type CompiledVirtualService } from './virtual-service.js';

export interface CompileRoutesInput {
  readonly mesh: MeshConfigSpec;
  readonly caller: CallerView;
  /** A snapshot's resources (any kinds: VirtualService and ServiceEntry are read). */
  readonly resources: readonly StoredResource[];
  readonly services: readonly ServiceView[];
  /** `cluster.local` unless the mesh says otherwise. */
  readonly clusterDomain: string;
}

/** Istio's exportTo: `.` the resource's namespace, `*` every namespace, else the namespaces named; empty is `*`. */
export function exportedTo(exportTo: readonly string[] | undefined, namespace: string, viewer: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || e === viewer || (e === '.' && namespace === viewer));
}

/** Istio's config order: oldest first, then by name, then by namespace. */
export function byAge(a: StoredResource, b: StoredResource): number {
  // An unparsable time sorts last, as the newest.
  const time = (r: StoredResource) => {
    const t = Date.parse(r.metadata.creationTimestamp);
    return Number.isNaN(t) ? Number.MAX_VALUE : t;
  };
  const ta = time(a);
  const tb = time(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return cmp(a.metadata.name, b.metadata.name) || cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '');
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const appliesToSidecars = (vs: VirtualService) => {
  const g = vs.spec.gateways;
  return g === undefined || g.length === 0 || g.includes('mesh');
};

/**
 * Compiles the routing a caller's sidecar applies. Pure and total: a resource that cannot be
 * applied becomes an issue and routes that fail closed, never an exception.
 * @example compileRoutes({ mesh, caller, resources, services, clusterDomain: 'cluster.local' }).route(req)
 */
export function compileRoutes(input: CompileRoutesInput): RouteTable {
  const { caller, clusterDomain } = input;
  const serviceEntries = (input.resources.filter((r) => r.kind === 'ServiceEntry') as StoredResource<ServiceEntry>[])
    .filter((se) => exportedTo(se.spec.exportTo, se.metadata.namespace, caller.namespace))
    .sort(byAge);
  const registry = new HostRegistry({ services: input.services, serviceEntries, callerNamespace: caller.namespace, clusterDomain, outboundTrafficPolicy: input.mesh.outboundTrafficPolicy.mode });
  const all = input.resources.filter((r) => r.kind === 'VirtualService') as StoredResource<VirtualService>[];
  const byRef = new Map(all.map((vs) => [`${vs.metadata.namespace}/${vs.metadata.name}`, vs]));
  const roots = all
    .filter((vs) => (vs.spec.hosts ?? []).length > 0 && appliesToSidecars(vs) && exportedTo(vs.spec.exportTo, vs.metadata.namespace, caller.namespace))
    .sort(byAge);
  const bound = new Map<string, StoredResource<VirtualService>[]>();
  for (const vs of roots) {
    for (const h of new Set((vs.spec.hosts ?? []).map((x) => hostKeyIn(x, vs.metadata.namespace, clusterDomain, registry.isRegistryHost)))) {
      const list = bound.get(h);
      if (list === undefined) bound.set(h, [vs]);
      else if (!list.includes(vs)) list.push(vs);
    }
  }
  const issues: RouteIssue[] = [];
  const conflicts: RouteConflict[] = [];
  const compiled = new Map<string, CompiledVirtualService>();
  const ctx = { caller, registry, byRef, exportedTo, issues };
  const exact = new Map<string, CompiledVirtualService>();
  const wildcards: { pattern: string; vs: CompiledVirtualService }[] = [];
  for (const [host, list] of bound) {
    const chosen = list[0]!;
    const ref = `${chosen.metadata.namespace}/${chosen.metadata.name}`;
    if (list.length > 1) conflicts.push({ host, chosen: ref, ignored: list.slice(1).map((v) => `${v.metadata.namespace}/${v.metadata.name}`) });
    let c = compiled.get(ref);
    if (c === undefined) {
      c = compileVirtualService(chosen, ctx);
      compiled.set(ref, c);
    }
    if (host.startsWith('*')) wildcards.push({ pattern: host, vs: c });
    else exact.set(host, c);
  }
  wildcards.sort((a, b) => b.pattern.length - a.pattern.length || cmp(a.pattern, b.pattern));
  conflicts.sort((a, b) => cmp(a.host, b.host));
  return new RouteTable({ registry, exact, wildcards, conflicts, issues });
}
