// WA017: several VirtualServices bound to sidecars claim one host (Istio's IST0109,
// ConflictingMeshGatewayVirtualServiceHosts): sidecars apply only the oldest for that host.
// WA018: a route sends traffic to a subset no DestinationRule for its host defines (Istio's
// IST0101, ReferencedResourceNotFound): Istio routes it nowhere.
// WA019: an HTTP route delegates to a VirtualService that is missing, has hosts, is not exported
// to the root's namespace, or delegates again: weft answers the requests it matches with 404.
// None needs the registry.
import type { Destination, DestinationRule, ServiceEntry, VirtualService } from '../../generated/types.js';
import type { StoredResource } from '../../stored.js';
import { finding, ofKind, serviceKeyOf, type Context } from '../context.js';
import type { Finding } from '../types.js';

/** One key per host however a resource spells it: `svc:name.namespace` for a mesh service, else the lower-case name. */
function hostKey(host: string, namespace: string, declared: ReadonlySet<string>): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h.includes('*') || declared.has(h)) return h;
  const service = serviceKeyOf(h, namespace);
  return service === undefined ? h : `svc:${service}`;
}

function declaredHosts(ctx: Context): Set<string> {
  return new Set(ofKind<ServiceEntry>(ctx.input, 'ServiceEntry').flatMap((se) => se.spec.hosts.map((h) => h.toLowerCase())));
}

const appliesToSidecars = (vs: VirtualService) => {
  const g = vs.spec.gateways;
  return g === undefined || g.length === 0 || g.includes('mesh');
};

/** Namespaces a resource is visible in; undefined for every namespace. */
function visibleIn(exportTo: readonly string[] | undefined, namespace: string): ReadonlySet<string> | undefined {
  if (exportTo === undefined || exportTo.length === 0 || exportTo.includes('*')) return undefined;
  return new Set(exportTo.map((e) => (e === '.' ? namespace : e)).filter((e) => e !== '~'));
}

function overlap(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined) return b === undefined || b.size > 0;
  if (b === undefined) return a.size > 0;
  return [...a].some((x) => b.has(x));
}

const ref = (r: StoredResource) => `${r.metadata.namespace}/${r.metadata.name}`;

/** Istio's order among equals: oldest first, then name, then namespace. */
function byAge(a: StoredResource, b: StoredResource): number {
  const ta = a.metadata.creationTimestamp;
  const tb = b.metadata.creationTimestamp;
  if (ta !== tb) return Date.parse(ta) - Date.parse(tb) || (ta < tb ? -1 : 1);
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : (a.metadata.namespace ?? '') < (b.metadata.namespace ?? '') ? -1 : 1;
}

export function conflictingVirtualServices(ctx: Context): Finding[] {
  const declared = declaredHosts(ctx);
  const byHost = new Map<string, { vs: StoredResource<VirtualService>; index: number; spelled: string }[]>();
  const all = ofKind<VirtualService>(ctx.input, 'VirtualService').filter((vs) => appliesToSidecars(vs)).sort(byAge);
  for (const vs of all) {
    (vs.spec.hosts ?? []).forEach((h, index) => {
      const k = hostKey(h, vs.metadata.namespace, declared);
      const list = byHost.get(k) ?? [];
      if (!list.some((x) => x.vs === vs)) list.push({ vs, index, spelled: h });
      byHost.set(k, list);
    });
  }
  const out: Finding[] = [];
  for (const list of byHost.values()) {
    for (let i = 1; i < list.length; i++) {
      const later = list[i]!;
      const laterVisible = visibleIn(later.vs.spec.exportTo, later.vs.metadata.namespace);
      const earlier = list.slice(0, i).find((e) => overlap(visibleIn(e.vs.spec.exportTo, e.vs.metadata.namespace), laterVisible));
      if (earlier === undefined) continue;
      out.push(finding('WA017', later.vs, `host ${later.spelled} is also claimed by VirtualService ${ref(earlier.vs)}, which is older: sidecars apply only that one for this host and ignore this VirtualService for it (Istio IST0109); merge the routes into one VirtualService`, `spec.hosts[${later.index}]`));
    }
  }
  return out;
}

export function unknownSubsets(ctx: Context): Finding[] {
  const declared = declaredHosts(ctx);
  const subsets = new Map<string, Set<string>>();
  for (const dr of ofKind<DestinationRule>(ctx.input, 'DestinationRule')) {
    const k = hostKey(dr.spec.host, dr.metadata.namespace, declared);
    const set = subsets.get(k) ?? new Set<string>();
    for (const s of dr.spec.subsets ?? []) set.add(s.name);
    subsets.set(k, set);
  }
  const defines = (k: string, subset: string) => {
    if (subsets.get(k)?.has(subset) === true) return true;
    const name = k.startsWith('svc:') ? `${k.slice(4)}.svc.cluster.local` : k;
    return [...subsets].some(([pattern, set]) => pattern.startsWith('*') && set.has(subset) && name.endsWith(pattern.slice(1)));
  };
  const out: Finding[] = [];
  for (const vs of ofKind<VirtualService>(ctx.input, 'VirtualService')) {
    const check = (d: Destination | undefined, path: string) => {
      if (d?.subset === undefined) return;
      const k = hostKey(d.host, vs.metadata.namespace, declared);
      if (k.includes('*') || defines(k, d.subset)) return;
      out.push(finding('WA018', vs, `subset ${d.subset} of ${d.host} is defined by no DestinationRule for that host, so traffic routed to it has nowhere to go (Istio IST0101)`, `${path}.subset`));
    };
    for (const kind of ['http', 'tcp', 'tls'] as const) {
      (vs.spec[kind] ?? []).forEach((route, i) => (route.route ?? []).forEach((r, j) => check(r.destination, `spec.${kind}[${i}].route[${j}].destination`)));
    }
    (vs.spec.http ?? []).forEach((route, i) => {
      check(route.mirror, `spec.http[${i}].mirror`);
      (route.mirrors ?? []).forEach((m, j) => check(m.destination, `spec.http[${i}].mirrors[${j}].destination`));
    });
  }
  return out;
}

/** Istio's exportTo read for one viewer namespace. */
function exportedTo(exportTo: readonly string[] | undefined, namespace: string, viewer: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || e === viewer || (e === '.' && namespace === viewer));
}

export function brokenDelegates(ctx: Context): Finding[] {
  const all = ofKind<VirtualService>(ctx.input, 'VirtualService');
  const byRef = new Map(all.map((vs) => [ref(vs), vs]));
  const out: Finding[] = [];
  for (const vs of all) {
    (vs.spec.http ?? []).forEach((route, i) => {
      if (route.delegate === undefined) return;
      const target = `${route.delegate.namespace ?? vs.metadata.namespace}/${route.delegate.name ?? ''}`;
      const d = byRef.get(target);
      let why: string | undefined;
      if ((vs.spec.hosts ?? []).length === 0) why = 'this VirtualService is itself a delegate (it has no hosts), and delegation is one level deep';
      else if (d === undefined) why = `VirtualService ${target} does not exist (Istio IST0101)`;
      else if ((d.spec.hosts ?? []).length > 0) why = `VirtualService ${target} has hosts, and a delegate must have none`;
      else if (!exportedTo(d.spec.exportTo, d.metadata.namespace, vs.metadata.namespace)) why = `VirtualService ${target} is not exported to namespace ${vs.metadata.namespace}`;
      if (why !== undefined) out.push(finding('WA019', vs, `the route delegates to ${target}, which cannot be applied: ${why}; requests the route matches get 404`, `spec.http[${i}].delegate`));
    });
  }
  return out;
}
