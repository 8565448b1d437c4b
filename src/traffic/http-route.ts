// What one HTTPRoute does once a request matched it: forward to weighted destinations (with
// rewrite, headers, timeout, retries, fault, mirrors, CORS), redirect, answer directly, or fail
// closed with a reason. Compiled once per snapshot; `decide` builds the per-request answer.
import type { HTTPRoute } from '../config/generated/types.js';
import { compileCors, type CompiledCors } from './cors.js';
import type { RouteDecision, RouteDestination, RouteIssue } from './decision.js';
import { goDurationMs } from './duration.js';
import { compileFault, type FaultPolicy } from './fault.js';
import { compileHeaders, type CompiledHeaders } from './header-ops.js';
import type { HostRegistry } from './host-registry.js';
import type { UriMatchForm } from './match.js';
import { compileMirrors, type MirrorTarget } from './mirror.js';
import type { RequestView } from './request.js';
import { compileRetry, type RetryPolicy } from './retry.js';
import { compileRedirect, compileRewrite, redirectLocation, rewritePath, type CompiledRedirect, type CompiledRewrite } from './rewrite.js';
import { effectiveWeights } from './weighted.js';

/** A destination before the request's port is known (`port` undefined: the request's). */
interface PendingDestination extends Omit<RouteDestination, 'port'> {
  readonly port: number | undefined;
}

export type CompiledAction =
  | {
      readonly kind: 'forward';
      readonly destinations: readonly PendingDestination[];
      readonly portless: boolean;
      readonly rewrite: CompiledRewrite | undefined;
      readonly headers: CompiledHeaders;
      readonly timeoutMs: number | undefined;
      readonly retry: RetryPolicy;
      readonly fault: FaultPolicy | undefined;
      readonly mirrors: readonly MirrorTarget[];
      readonly cors: CompiledCors | undefined;
      /** Decisions that do not depend on the request (no rewrite, every port known), by route name. */
      readonly fixed: Map<string, RouteDecision>;
    }
  | { readonly kind: 'redirect'; readonly redirect: CompiledRedirect; readonly headers: CompiledHeaders }
  | { readonly kind: 'direct'; readonly status: number; readonly body: string | Uint8Array | undefined; readonly headers: CompiledHeaders }
  | { readonly kind: 'no-route'; readonly status: 404 | 503; readonly flag: 'NR' | 'NC'; readonly reason: string };

/** Where a route sits, for issues and for resolving its short host names. */
export interface RouteSite {
  readonly resource: string;
  readonly path: string;
  /** The namespace short destination hosts are resolved in (the VirtualService's own). */
  readonly namespace: string;
  readonly registry: HostRegistry;
  readonly issues: RouteIssue[];
}

/** Compiles the action of an HTTPRoute (not a delegating one). Never throws: a problem becomes a no-route with the reason. */
export function compileAction(route: HTTPRoute, site: RouteSite): CompiledAction {
  const issue = (path: string, message: string) => site.issues.push({ resource: site.resource, path: `${site.path}.${path}`, message });
  const headers = compileHeaders(route.headers);
  if (route.redirect !== undefined) return { kind: 'redirect', redirect: compileRedirect(route.redirect), headers };
  if (route.directResponse !== undefined) {
    const b = route.directResponse.body;
    const body = b?.string ?? (b?.bytes === undefined ? undefined : new Uint8Array(Buffer.from(b.bytes, 'base64')));
    return { kind: 'direct', status: route.directResponse.status, body, headers };
  }
  const rewrite = compileRewrite(route.rewrite);
  if (typeof rewrite === 'string') {
    issue('rewrite', `${rewrite}: the route answers 404 (fails closed)`);
    return { kind: 'no-route', status: 404, flag: 'NR', reason: `${site.resource} ${site.path}: ${rewrite}` };
  }
  const candidates: PendingDestination[] = [];
  (route.route ?? []).forEach((d, i) => {
    const host = site.registry.destinationKey(d.destination.host, site.namespace);
    if (host === undefined) {
      issue(`route[${i}].destination.host`, `${d.destination.host} is neither a service nor a ServiceEntry host: the destination is dropped`);
      return;
    }
    const port = d.destination.port?.number ?? site.registry.singlePort(host);
    candidates.push({ host, subset: d.destination.subset, port, weight: d.weight ?? 0, headers: compileHeaders(d.headers) });
  });
  const destinations = effectiveWeights(candidates);
  if (destinations.length === 0) {
    const reason = candidates.length === 0 ? 'no destination is a service or a ServiceEntry host' : 'every destination has weight 0';
    return { kind: 'no-route', status: 503, flag: 'NC', reason: `${site.resource} ${site.path}: ${reason}` };
  }
  const cors = compileCors(route.corsPolicy);
  for (const e of cors?.errors ?? []) issue('corsPolicy', `${e}: that origin matches nothing`);
  const timeoutMs = route.timeout === undefined ? undefined : goDurationMs(route.timeout);
  const retry = compileRetry(route.retries);
  if (retry.ignoredTokens.length > 0) issue('retries.retryOn', `unknown retryOn tokens ignored: ${retry.ignoredTokens.join(', ')}`);
  return {
    kind: 'forward',
    destinations,
    portless: destinations.some((d) => d.port === undefined),
    rewrite,
    headers,
    timeoutMs: timeoutMs === 0 ? undefined : timeoutMs,
    retry,
    fault: compileFault(route.fault),
    mirrors: compileMirrors(route, (h) => site.registry.destinationKey(h, site.namespace), (h, path) => issue(path, `${h} is neither a service nor a ServiceEntry host: the mirror is dropped`)),
    cors,
    fixed: new Map(),
  };
}

/** The decision for a request that matched a route (`uri`: how its URI was matched). */
export function decide(action: CompiledAction, view: RequestView, uri: UriMatchForm, routeName: string, virtualService: string): RouteDecision {
  switch (action.kind) {
    case 'no-route':
      return { kind: 'no-route', status: action.status, flag: action.flag, reason: action.reason, virtualService };
    case 'direct':
      return { kind: 'direct', routeName, virtualService, status: action.status, body: action.body, responseHeaders: action.headers.response };
    case 'redirect': {
      const r = view.req;
      const location = redirectLocation(action.redirect, { scheme: r.scheme, authority: r.authority, port: r.port, pathOnly: view.pathOnly, queryString: view.queryString, uri });
      return { kind: 'redirect', routeName, virtualService, status: action.redirect.status, location, responseHeaders: action.headers.response };
    }
    case 'forward': {
      const cacheable = !action.portless && action.rewrite === undefined;
      const hit = cacheable ? action.fixed.get(routeName) : undefined;
      if (hit !== undefined) return hit;
      const port = view.req.port;
      const destinations = action.portless ? action.destinations.map((d) => ({ ...d, port: d.port ?? port })) : (action.destinations as readonly RouteDestination[]);
      const rw = action.rewrite;
      const d: RouteDecision = {
        kind: 'forward',
        routeName,
        virtualService,
        destinations,
        path: rw === undefined ? undefined : rewritePath(rw, uri, view.pathOnly, view.queryString),
        authority: rw?.authority ?? action.headers.authority,
        requestHeaders: action.headers.request,
        responseHeaders: action.headers.response,
        timeoutMs: action.timeoutMs,
        retry: action.retry,
        fault: action.fault,
        mirrors: action.mirrors,
        cors: action.cors,
      };
      if (cacheable) action.fixed.set(routeName, Object.freeze(d));
      return d;
    }
  }
}
