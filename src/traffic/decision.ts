// What routing answers for one request: forward (with everything the proxy applies on the way),
// redirect, a direct response, or no route (with the reason, never a crash).
import type { CompiledCors } from './cors.js';
import type { FaultPolicy } from './fault.js';
import type { CompiledHeaders, HeaderOps } from './header-ops.js';
import type { MirrorTarget } from './mirror.js';
import type { RetryPolicy } from './retry.js';

/** One weighted destination of a route. */
export interface RouteDestination {
  /** Host key (a service's FQDN, a ServiceEntry host). */
  readonly host: string;
  /** A DestinationRule subset; undefined: all endpoints. */
  readonly subset: string | undefined;
  readonly port: number;
  /** Its share is weight / the sum of the list's weights. */
  readonly weight: number;
  /** Per-destination header operations (`route[].headers`); a `host` set here rewrites the authority. */
  readonly headers: CompiledHeaders;
}

interface Named {
  /** `<http.name>.<match.name>` as Istio logs `%ROUTE_NAME%` ('' when the route has no name; `default` without a VirtualService). */
  readonly routeName: string;
  /** `namespace/name` of the VirtualService that decided; undefined for the default route. */
  readonly virtualService: string | undefined;
}

export interface ForwardDecision extends Named {
  readonly kind: 'forward';
  /** Never empty; pick one with `pick(destinations, random)`. */
  readonly destinations: readonly RouteDestination[];
  /** The path (query included) after a rewrite; undefined: unchanged. */
  readonly path: string | undefined;
  /** The authority after `rewrite.authority` or a `host` header set; undefined: unchanged. */
  readonly authority: string | undefined;
  readonly requestHeaders: HeaderOps;
  readonly responseHeaders: HeaderOps;
  /** The route timeout, retries included; undefined: none (Istio's default). */
  readonly timeoutMs: number | undefined;
  readonly retry: RetryPolicy;
  readonly fault: FaultPolicy | undefined;
  readonly mirrors: readonly MirrorTarget[];
  readonly cors: CompiledCors | undefined;
}

export interface RedirectDecision extends Named {
  readonly kind: 'redirect';
  readonly status: number;
  readonly location: string;
  readonly responseHeaders: HeaderOps;
}

export interface DirectDecision extends Named {
  readonly kind: 'direct';
  readonly status: number;
  readonly body: string | Uint8Array | undefined;
  readonly responseHeaders: HeaderOps;
}

export interface NoRouteDecision {
  readonly kind: 'no-route';
  /** 404 with flag NR when nothing matched or a route cannot be run; 503 NC when its destinations are all unknown. */
  readonly status: 404 | 503;
  readonly flag: 'NR' | 'NC';
  readonly reason: string;
  readonly virtualService: string | undefined;
}

export type RouteDecision = ForwardDecision | RedirectDecision | DirectDecision | NoRouteDecision;

/** The answer for a TLS (by SNI) or TCP connection. */
export type StreamDecision =
  | { readonly kind: 'forward'; readonly virtualService: string | undefined; readonly destinations: readonly Omit<RouteDestination, 'headers'>[] }
  | { readonly kind: 'no-route'; readonly reason: string; readonly virtualService: string | undefined };

/** A problem found while compiling: the resource, the field, and what it does now. */
export interface RouteIssue {
  /** `VirtualService/namespace/name`. */
  readonly resource: string;
  readonly path: string;
  readonly message: string;
}

/** Several VirtualServices for one host: sidecars use the oldest; the others are ignored for it. */
export interface RouteConflict {
  readonly host: string;
  /** `namespace/name` of the one in force. */
  readonly chosen: string;
  readonly ignored: readonly string[];
}
