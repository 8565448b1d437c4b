// The routing a sidecar applies, compiled once per snapshot: `resolve` an authority, `route` an
// HTTP request, `routeTls` a connection by SNI, `routeTcp` one by port. Per request it walks the
// compiled blocks of one VirtualService in order; the first match wins.
import type { RouteConflict, RouteDecision, RouteIssue, StreamDecision } from './decision.js';
import { wildcardCovers } from './host.js';
import type { HostRegistry, HostResolution, OutboundTrafficPolicyMode } from './host-registry.js';
import { decide } from './http-route.js';
import { NO_HEADERS } from './header-ops.js';
import { RequestView, type RouteRequest } from './request.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';
import { sniMatches, type CompiledL4Route, type CompiledVirtualService } from './virtual-service.js';

export interface RouteTableParts {
  readonly registry: HostRegistry;
  readonly exact: ReadonlyMap<string, CompiledVirtualService>;
  readonly wildcards: readonly { readonly pattern: string; readonly vs: CompiledVirtualService }[];
  readonly conflicts: readonly RouteConflict[];
  readonly issues: readonly RouteIssue[];
}

export class RouteTable {
  /** Hosts several VirtualServices claim; the oldest is in force. */
  readonly conflicts: readonly RouteConflict[];
  /** What could not be applied as written (dropped destinations, refused regexes, broken delegates). */
  readonly issues: readonly RouteIssue[];
  readonly #registry: HostRegistry;
  readonly #exact: ReadonlyMap<string, CompiledVirtualService>;
  readonly #wildcards: RouteTableParts['wildcards'];

  constructor(parts: RouteTableParts) {
    this.#registry = parts.registry;
    this.#exact = parts.exact;
    this.#wildcards = parts.wildcards;
    this.conflicts = parts.conflicts;
    this.issues = parts.issues;
  }

  /** MeshConfig's outboundTrafficPolicy: what the proxy does with an unregistered host. */
  get outboundTrafficPolicy(): OutboundTrafficPolicyMode {
    return this.#registry.outboundTrafficPolicy;
  }

  /**
   * What the app asked for, as a host key and port. Never throws.
   * @example table.resolve('reviews.default:9080', 80) → { kind: 'service', host: 'reviews.default.svc.cluster.local', port: 9080, ... }
   */
  resolve(authority: string, defaultPort: number): HostResolution {
    return this.#registry.resolve(authority, defaultPort);
  }

  /** The VirtualService in force for a host key: an exact host first, else the most specific wildcard. */
  virtualServiceFor(host: string): CompiledVirtualService | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    return this.#wildcards.find((w) => wildcardCovers(w.pattern, host))?.vs;
  }

  /**
   * Routes an HTTP request for a host key `resolve` answered. Without a VirtualService (or one
   * with no HTTP route for this caller): to the host itself on the request's port. With one: the
   * first matching route, or 404 NR.
   */
  route(req: RouteRequest): RouteDecision {
    const vs = this.virtualServiceFor(req.host);
    // A VirtualService without HTTP routes for this caller leaves HTTP to the default route, as Istio's does.
    if (vs === undefined || vs.http.length === 0) return this.#defaultRoute(req.host, req.port);
    const view = new RequestView(req);
    for (const r of vs.http) {
      if (r.blocks === undefined) return decide(r.action, view, IMPLICIT_URI, r.routeName, vs.ref);
      for (const b of r.blocks) {
        const m = b.match;
        if (m.port !== undefined && m.port !== req.port) continue;
        if (!m.test(view)) continue;
        if (m.error !== undefined) return { kind: 'no-route', status: 404, flag: 'NR', reason: `VirtualService/${vs.ref} route ${b.routeName || '(unnamed)'}: ${m.error}`, virtualService: vs.ref };
        return decide(r.action, view, m.uri, b.routeName, vs.ref);
      }
    }
    return { kind: 'no-route', status: 404, flag: 'NR', reason: `no route of VirtualService ${vs.ref} matches the request`, virtualService: vs.ref };
  }

  #defaultRoute(host: string, port: number): RouteDecision {
    if (this.#registry.entry(host) === undefined) return { kind: 'no-route', status: 404, flag: 'NR', reason: `${host} is neither a service nor a ServiceEntry host`, virtualService: undefined };
    return {
      kind: 'forward',
      routeName: 'default',
      virtualService: undefined,
      destinations: [{ host, subset: undefined, port, weight: 100, headers: NO_HEADERS }],
      path: undefined,
      authority: undefined,
      requestHeaders: NO_HEADERS.request,
      responseHeaders: NO_HEADERS.response,
      timeoutMs: undefined,
      retry: DEFAULT_RETRY_POLICY,
      fault: undefined,
      mirrors: [],
      cors: undefined,
    };
  }

  /** Routes a TLS connection by its SNI and port (`tls` routes); without them, to the host itself. */
  routeTls(host: string, sni: string, port: number): StreamDecision {
    return this.#routeStream(host, port, 'tls', (m) => m.sni === undefined || sniMatches(m.sni, sni), undefined);
  }

  /** Routes a TCP connection by port and, for `destinationSubnets`, the address the app connected to. */
  routeTcp(host: string, port: number, destinationAddress?: string): StreamDecision {
    return this.#routeStream(host, port, 'tcp', () => true, destinationAddress);
  }

  #routeStream(host: string, port: number, kind: 'tls' | 'tcp', extra: (m: NonNullable<CompiledL4Route['matches']>[number]) => boolean, address: string | undefined): StreamDecision {
    const vs = this.virtualServiceFor(host);
    const routes = vs?.[kind] ?? [];
    if (vs === undefined || routes.length === 0) {
      if (this.#registry.entry(host) === undefined) return { kind: 'no-route', reason: `${host} is neither a service nor a ServiceEntry host`, virtualService: vs?.ref };
      return { kind: 'forward', virtualService: undefined, destinations: [{ host, subset: undefined, port, weight: 100 }] };
    }
    for (const r of routes) {
      const hit = r.matches === undefined || r.matches.some((m) => (m.port === undefined || m.port === port) && (m.subnets === undefined || (address !== undefined && m.subnets(address))) && extra(m));
      if (!hit) continue;
      if (r.destinations.length === 0) return { kind: 'no-route', reason: `VirtualService ${vs.ref}: the matching ${kind} route has no destination that is a service or a ServiceEntry host`, virtualService: vs.ref };
      return { kind: 'forward', virtualService: vs.ref, destinations: r.destinations.map((d) => ({ ...d, port: d.port ?? port })) };
    }
    return { kind: 'no-route', reason: `no ${kind} route of VirtualService ${vs.ref} matches`, virtualService: vs.ref };
  }
}

const IMPLICIT_URI = { form: 'prefix', value: '/' } as const;
