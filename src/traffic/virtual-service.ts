// One VirtualService compiled for one calling sidecar (Istio BuildHTTPRoutesForVirtualService):
// routes in order, one entry per match block; blocks whose sourceLabels, sourceNamespace or
// gateways leave this caller out are dropped at compile time; generation stops at the first
// catch-all; a delegating route is replaced by the delegate's routes, each block AND-ed with the
// root's. A delegate that is missing, not exported to the root's namespace, has hosts, or
// delegates again is a route that fails closed with the reason.
import type { HTTPMatchRequest, HTTPRoute, L4MatchAttributes, TLSMatchAttributes, VirtualService } from '../config/generated/types.js';
import type { StoredResource } from '../config/stored.js';
import { subnetMatcher, type SubnetMatcher } from './subnet.js';
import type { RouteIssue } from './decision.js';
import type { HostRegistry } from './host-registry.js';
import { compileAction, type CompiledAction } from './http-route.js';
import { andMatches, compileMatch, type CompiledMatch } from './match.js';
import type { CallerView } from './types.js';
import { hostKeyIn, wildcardCovers } from './host.js';

/** A match block with the route name it logs. */
export interface RouteBlock {
  readonly match: CompiledMatch;
  readonly routeName: string;
}

export interface CompiledHttpRoute {
  /** undefined: the route has no match list and takes every request. */
  readonly blocks: readonly RouteBlock[] | undefined;
  readonly routeName: string;
  readonly action: CompiledAction;
}

export interface CompiledL4Route {
  /** undefined: every connection. */
  readonly matches: readonly { readonly port: number | undefined; readonly sni: readonly string[] | undefined; readonly subnets: SubnetMatcher | undefined }[] | undefined;
  readonly destinations: readonly { readonly host: string; readonly subset: string | undefined; readonly port: number | undefined; readonly weight: number }[];
}

export interface CompiledVirtualService {
  /** `namespace/name`. */
  readonly ref: string;
  readonly http: readonly CompiledHttpRoute[];
  readonly tls: readonly CompiledL4Route[];
  readonly tcp: readonly CompiledL4Route[];
}

export interface VirtualServiceContext {
  readonly caller: CallerView;
  readonly registry: HostRegistry;
  /** Every VirtualService of the snapshot by `namespace/name`, for delegation. */
  readonly byRef: ReadonlyMap<string, StoredResource<VirtualService>>;
  /** True when a resource with this exportTo in `namespace` is visible from `viewer`. */
  readonly exportedTo: (exportTo: readonly string[] | undefined, namespace: string, viewer: string) => boolean;
  readonly issues: RouteIssue[];
}

const labelsIn = (want: Readonly<Record<string, string>> | undefined, have: Readonly<Record<string, string>>) => Object.entries(want ?? {}).every(([k, v]) => have[k] === v);

/** Istio's sourceMatchHTTP: per-match gateways override sourceLabels; otherwise labels and namespace select callers. */
function appliesTo(m: { gateways?: readonly string[]; sourceLabels?: Readonly<Record<string, string>>; sourceNamespace?: string }, caller: CallerView): boolean {
  if (m.gateways !== undefined && m.gateways.length > 0) return m.gateways.includes('mesh');
  return labelsIn(m.sourceLabels, caller.labels) && (m.sourceNamespace === undefined || m.sourceNamespace === '' || m.sourceNamespace === caller.namespace);
}

/** The blocks of a match list this caller gets; undefined for no list (every request), [] when none applies. */
function selectBlocks(matches: readonly HTTPMatchRequest[] | undefined, routeName: string | undefined, caller: CallerView): RouteBlock[] | undefined {
  if (matches === undefined || matches.length === 0) return undefined;
  return matches.filter((m) => appliesTo(m, caller)).map((m) => ({ match: compileMatch(m), routeName: nameOf(routeName, m.name) }));
}

function nameOf(routeName: string | undefined, matchName: string | undefined): string {
  return matchName === undefined || matchName === '' ? routeName ?? '' : `${routeName ?? ''}.${matchName}`;
}

/** Cuts a route's blocks at its first catch-all; true when there was one (generation stops after this route). */
function cutAtCatchAll(blocks: RouteBlock[] | undefined): [RouteBlock[] | undefined, boolean] {
  if (blocks === undefined) return [undefined, true];
  const at = blocks.findIndex((b) => b.match.catchAll && b.match.error === undefined);
  return at < 0 ? [blocks, false] : [blocks.slice(0, at + 1), true];
}

/** Compiles a VirtualService's routes for the caller. */
export function compileVirtualService(vs: StoredResource<VirtualService>, ctx: VirtualServiceContext): CompiledVirtualService {
  const ns = vs.metadata.namespace;
  const ref = `${ns}/${vs.metadata.name}`;
  const resource = `VirtualService/${ref}`;
  const site = (path: string, namespace: string) => ({ resource, path, namespace, registry: ctx.registry, issues: ctx.issues });
  const http: CompiledHttpRoute[] = [];
  const routes = vs.spec.http ?? [];
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    const selected = selectBlocks(route.match, route.name, ctx.caller);
    if (selected !== undefined && selected.length === 0) continue;
    if (route.delegate !== undefined) {
      if (compileDelegate(route, selected, `spec.http[${i}]`, ns, resource, ctx, http)) break;
      continue;
    }
    const [blocks, stop] = cutAtCatchAll(selected);
    http.push({ blocks, routeName: route.name ?? '', action: compileAction(route, site(`spec.http[${i}]`, ns)) });
    if (stop) break;
  }
  return { ref, http, tls: compileL4(vs.spec.tls ?? [], 'tls', ns, resource, ctx), tcp: compileL4(vs.spec.tcp ?? [], 'tcp', ns, resource, ctx) };
}

/** Appends the delegate's routes under the root's blocks; true when a catch-all ends generation. */
function compileDelegate(route: HTTPRoute, rootBlocks: RouteBlock[] | undefined, path: string, ns: string, resource: string, ctx: VirtualServiceContext, out: CompiledHttpRoute[]): boolean {
  const d = route.delegate!;
  const target = `${d.namespace ?? ns}/${d.name ?? ''}`;
  const failClosed = (why: string) => {
    ctx.issues.push({ resource, path: `${path}.delegate`, message: `${why}: requests this route matches get 404` });
    const [blocks, stop] = cutAtCatchAll(rootBlocks);
    out.push({ blocks, routeName: route.name ?? '', action: { kind: 'no-route', status: 404, flag: 'NR', reason: `${resource} ${path}: ${why}` } });
    return stop;
  };
  const delegate = ctx.byRef.get(target);
  if (delegate === undefined) return failClosed(`delegate VirtualService ${target} does not exist`);
  if ((delegate.spec.hosts ?? []).length > 0) return failClosed(`delegate VirtualService ${target} has hosts (a delegate must have none)`);
  if (!ctx.exportedTo(delegate.spec.exportTo, delegate.metadata.namespace, ns)) return failClosed(`delegate VirtualService ${target} is not exported to namespace ${ns}`);
  const dResource = `VirtualService/${target}`;
  const dRoutes = delegate.spec.http ?? [];
  for (let j = 0; j < dRoutes.length; j++) {
    const dr = dRoutes[j]!;
    const inner = selectBlocks(dr.match, dr.name, ctx.caller);
    if (inner !== undefined && inner.length === 0) continue;
    const merged = mergeBlocks(rootBlocks, inner);
    const [blocks, stop] = cutAtCatchAll(merged);
    const action: CompiledAction = dr.delegate !== undefined
      ? { kind: 'no-route', status: 404, flag: 'NR', reason: `${dResource} spec.http[${j}]: delegation is one level deep; the delegate delegates again` }
      : compileAction(inherit(route, dr), { resource: dResource, path: `spec.http[${j}]`, namespace: delegate.metadata.namespace, registry: ctx.registry, issues: ctx.issues });
    if (dr.delegate !== undefined) ctx.issues.push({ resource: dResource, path: `spec.http[${j}].delegate`, message: 'delegation is one level deep: this route fails closed (404)' });
    const name = joinNames(route.name, dr.name ?? '');
    out.push({ blocks: blocks?.map((b) => ({ ...b, routeName: nameOf(name, b.match.name) })), routeName: name, action });
    if (stop) return true;
  }
  return false;
}

/**
 * A delegate route with what it leaves unset taken from the root route (Istio mergeHTTPRoute):
 * rewrite, timeout, retries, fault, mirrors, corsPolicy and headers.
 */
function inherit(root: HTTPRoute, d: HTTPRoute): HTTPRoute {
  const mirrors = d.mirror === undefined && d.mirrors === undefined ? { mirror: root.mirror, mirrors: root.mirrors, mirrorPercent: root.mirrorPercent, mirrorPercentage: root.mirrorPercentage } : {};
  return {
    ...d,
    ...mirrors,
    rewrite: d.rewrite ?? root.rewrite,
    timeout: d.timeout ?? root.timeout,
    retries: d.retries ?? root.retries,
    fault: d.fault ?? root.fault,
    corsPolicy: d.corsPolicy ?? root.corsPolicy,
    headers: d.headers ?? root.headers,
  };
}

/** Istio names a merged route `<root>-<delegate>`, or whichever of the two is set. */
function joinNames(root: string | undefined, delegate: string): string {
  if (root === undefined || root === '') return delegate;
  return delegate === '' ? root : `${root}-${delegate}`;
}

function mergeBlocks(outer: RouteBlock[] | undefined, inner: RouteBlock[] | undefined): RouteBlock[] | undefined {
  if (outer === undefined) return inner;
  if (inner === undefined) return outer;
  return outer.flatMap((o) => inner.map((i) => ({ match: andMatches(o.match, i.match), routeName: i.routeName })));
}

function compileL4(routes: readonly { match?: readonly (L4MatchAttributes | TLSMatchAttributes)[]; route?: readonly { destination: { host: string; subset?: string; port?: { number?: number } }; weight?: number }[] }[], kind: 'tls' | 'tcp', ns: string, resource: string, ctx: VirtualServiceContext): CompiledL4Route[] {
  const out: CompiledL4Route[] = [];
  routes.forEach((r, i) => {
    let matches: CompiledL4Route['matches'];
    if (r.match !== undefined && r.match.length > 0) {
      const kept = r.match.filter((m) => appliesTo(m, ctx.caller));
      if (kept.length === 0) return;
      matches = kept.map((m) => ({
        port: m.port,
        sni: 'sniHosts' in m ? sniNames(m.sniHosts, ns, ctx.registry) : undefined,
        subnets: m.destinationSubnets === undefined || m.destinationSubnets.length === 0 ? undefined : subnetMatcher(m.destinationSubnets),
      }));
    }
    const candidates: { host: string; subset: string | undefined; port: number | undefined; weight: number }[] = [];
    (r.route ?? []).forEach((d, j) => {
      const host = ctx.registry.destinationKey(d.destination.host, ns);
      if (host === undefined) {
        ctx.issues.push({ resource, path: `spec.${kind}[${i}].route[${j}].destination.host`, message: `${d.destination.host} is neither a service nor a ServiceEntry host: the destination is dropped` });
        return;
      }
      candidates.push({ host, subset: d.destination.subset, port: d.destination.port?.number ?? ctx.registry.singlePort(host), weight: d.weight ?? 0 });
    });
    const destinations = candidates.length === 1 ? [{ ...candidates[0]!, weight: 100 }] : candidates.filter((c) => c.weight > 0);
    out.push({ matches, destinations });
  });
  return out;
}

/** `sniHosts` as written (lower case) and, for service names, fully qualified in the VirtualService's namespace. */
function sniNames(hosts: readonly string[], ns: string, registry: HostRegistry): string[] {
  const out = new Set<string>();
  for (const h of hosts) {
    const lower = h.toLowerCase().replace(/\.$/, '');
    out.add(lower);
    out.add(hostKeyIn(lower, ns, registry.clusterDomain, registry.isRegistryHost));
  }
  return [...out];
}

/** True when an SNI is one of `sniHosts` (exact, or under a `*.` wildcard). */
export function sniMatches(sniHosts: readonly string[], sni: string): boolean {
  const s = sni.toLowerCase().replace(/\.$/, '');
  return sniHosts.some((h) => h === s || wildcardCovers(h, s));
}
