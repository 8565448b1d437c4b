// The route step of the outbound path: what a VirtualService and DestinationRule say about one
// request. Given the parsed target, it answers a local reply (redirect, direct response), a
// refusal (no route, no cluster, fault abort) or a plan for the exchange: the destination's
// endpoints, the cluster state to balance with, the rewritten path and authority, header
// operations, timeout, retry policy and fault delay. Protocol-neutral (it reads a method, a path
// and a header getter), so an HTTP/2 exchange can run the same step.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import {
  backoffMs,
  clusterName,
  corsPreflight,
  corsResponseHeaders,
  faultDecision,
  mirrorDecision,
  outcomeOfStatus,
  pick,
  retryDecision,
  type ClusterRegistry,
  type ClusterState,
  type ClusterTable,
  type HeaderGetter,
  type HeaderOps,
  type LoadView,
  type Outcome,
  type RetryOutcome,
  type RetryPolicy,
  type RouteTable,
  type AffinityCookie,
  type EndpointView,
  type HashInput,
  type ServiceView,
} from '../../traffic/index.js';
import type { Clock } from '../../lib/clock.js';
import { ProxyError } from '../errors.js';
import type { RescueOverride } from '../rescue.js';
import type { Endpoint, ServiceDirectory, ServiceEntry } from '../types.js';
import type { EndpointFilter, Target } from './route.js';
import type { MirrorPlan } from './mirror-send.js';

/** One snapshot's traffic configuration compiled for this sidecar (the sidecar builds it). */
export interface TrafficConfig {
  readonly routes: RouteTable;
  readonly clusters: ClusterTable;
  /** Per-cluster balancers, outlier detectors and circuit breakers, kept across snapshots. */
  readonly registry: ClusterRegistry;
  /** The snapshot's services by host key (FQDN). */
  readonly services: ReadonlyMap<string, ServiceView>;
  /** Requests in flight per endpoint key; the registry's LEAST_REQUEST balancers read it. */
  readonly active: ActiveRequests;
}

/** Requests in flight per endpoint, counted by the exchanges (the LoadView LEAST_REQUEST reads). */
export class ActiveRequests implements LoadView {
  readonly #counts = new Map<string, number>();

  activeRequests(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  begin(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  end(key: string): void {
    const n = (this.#counts.get(key) ?? 0) - 1;
    if (n <= 0) this.#counts.delete(key);
    else this.#counts.set(key, n);
  }
}

/** What the route step says about one request. */
export type RouteStep =
  /** Not a VirtualService matter (the host is not a mesh service): the plain path applies. */
  | { readonly kind: 'plain' }
  /** Answered here, not an error: a redirect or a direct response. */
  | { readonly kind: 'reply'; readonly status: number; readonly headers: readonly (readonly [string, string])[]; readonly body: string | Uint8Array | undefined; readonly routeName: string }
  /** Refused here, through rescue (status and headers may be overridden). */
  | { readonly kind: 'refuse'; readonly error: ProxyError; readonly override: RescueOverride | undefined }
  | { readonly kind: 'forward'; readonly plan: TrafficPlan };

/** What the step reads of a request; the HTTP/1.1 listener and an HTTP/2 one both have it. */
export interface RoutedRequest {
  readonly method: string;
  readonly target: Target;
  readonly header: HeaderGetter;
  /** What consistent hashing reads (header, cookie, query, source address); made only for a hashing cluster. */
  readonly hashInput?: () => HashInput;
}

const PLAIN: RouteStep = Object.freeze({ kind: 'plain' });
const OVERLOADED: RescueOverride = Object.freeze({ headers: ['x-envoy-overloaded', 'true'] });
/** Retries of one request, whatever `attempts` says (validation allows 2^31): a bound on a retry storm. */
export const MAX_RETRIES_PER_REQUEST = 10;
/** The first outbound port is 80 when the app does not name one, as an HTTP client means. */
const DEFAULT_PORT = 80;

/**
 * Routes one request. Never throws: anything unusable becomes a refusal with its reason.
 * `random` draws the weighted destination and the fault (Math.random in the proxy).
 */
export function routeStep(cfg: TrafficConfig, directory: ServiceDirectory, req: RoutedRequest, clock: Clock, random: () => number): RouteStep {
  let resolved = cfg.routes.resolve(req.target.authority, DEFAULT_PORT);
  // An authority without a port names a service's only port: between sidecars the port is only
  // a name (the peer hands the request to its app), so `reviews.default` means its one port.
  if (resolved.kind === 'unknown-port') {
    const only = cfg.services.get(resolved.host)?.ports;
    if (only !== undefined && only.length === 1 && !hasPort(req.target.authority)) resolved = cfg.routes.resolve(`${req.target.authority}:${only[0]!.port}`, DEFAULT_PORT);
  }
  // Only mesh services are routed here; everything else keeps the listener's own handling.
  if (resolved.kind !== 'service') return PLAIN;
  const decision = cfg.routes.route({ host: resolved.host, port: resolved.port, method: req.method, path: req.target.path, scheme: 'http', authority: req.target.authority, header: req.header });
  switch (decision.kind) {
    case 'no-route':
      return refuse(decision.flag === 'NR' ? 'WEFT_PROXY_NO_ROUTE' : 'WEFT_PROXY_NO_CLUSTER', decision.reason);
    case 'redirect':
      return { kind: 'reply', status: decision.status, headers: withOps([['location', decision.location]], decision.responseHeaders), body: undefined, routeName: decision.routeName };
    case 'direct':
      return { kind: 'reply', status: decision.status, headers: withOps([], decision.responseHeaders), body: decision.body, routeName: decision.routeName };
    case 'forward':
      break;
  }
  // CORS: an allowed preflight is answered here; an actual request's response gets the allow headers.
  let corsOps: HeaderOps | undefined;
  if (decision.cors !== undefined) {
    const pre = corsPreflight(decision.cors, req.method, req.header);
    if (pre.kind === 'respond') return { kind: 'reply', status: pre.status, headers: pre.headers.map(([n, v]) => [n, v] as const), body: undefined, routeName: decision.routeName };
    const allow = corsResponseHeaders(decision.cors, req.header);
    if (allow.length > 0) corsOps = { set: allow, add: [], remove: [] };
  }
  const dest = pick(decision.destinations, random);
  if (dest === undefined) return refuse('WEFT_PROXY_NO_CLUSTER', `route ${decision.routeName || '(unnamed)'} has no destination with weight`);
  const view = cfg.services.get(dest.host);
  if (view === undefined) return refuse('WEFT_PROXY_NO_CLUSTER', `destination ${dest.host} is not a mesh service`);
  const entry = directory.lookup(view.name, view.namespace);
  if (entry === undefined) return refuse('WEFT_PROXY_NO_CLUSTER', `destination ${dest.host} has no registered workload`);
  const subset = cfg.clusters.subsetEndpoints(view, dest.subset);
  if (!subset.ok) return refuse('WEFT_PROXY_NO_CLUSTER', subset.message);
  const policy = cfg.clusters.policyFor(dest.host, dest.subset, dest.port);
  const cluster = cfg.registry.cluster(clusterName(dest.host, dest.subset, dest.port), policy, clock.now());
  const fault = decision.fault === undefined ? NO_FAULT : faultDecision(decision.fault, random);
  if (fault.abort !== undefined && fault.delayMs === undefined) return abortOf(fault.abort);
  const target: Target = {
    service: view.name,
    namespace: view.namespace,
    authority: dest.headers.authority ?? decision.authority ?? req.target.authority,
    path: decision.path ?? req.target.path,
  };
  const requestOps = opsList(decision.requestHeaders, dest.headers.request, undefined);
  const responseOps = opsList(decision.responseHeaders, dest.headers.response, corsOps);
  const mirrors = decision.mirrors.length === 0 ? NO_MIRRORS : mirrorPlans(cfg, directory, mirrorDecision(decision.mirrors, random), target, resolved.port, clock);
  return {
    kind: 'forward',
    plan: new TrafficPlan({
      endpoints: ready(subset.endpoints),
      registered: subset.endpoints.length,
      identities: entry.identities,
      target,
      cluster,
      active: cfg.active,
      requestOps,
      responseOps,
      timeoutMs: decision.timeoutMs,
      retry: decision.retry,
      delayMs: fault.delayMs,
      abort: fault.abort === undefined ? undefined : abortOf(fault.abort),
      random,
      clock,
      mirrors,
      hashInput: cluster.policy.loadBalancer.kind === 'consistent-hash' ? req.hashInput?.() : undefined,
    }),
  };
}

const NO_MIRRORS: readonly MirrorPlan[] = Object.freeze([]);
const NO_OPS: readonly HeaderOps[] = Object.freeze([]);
const NO_FAULT = Object.freeze({ delayMs: undefined, abort: undefined });

const hasOps = (o: HeaderOps | undefined): o is HeaderOps => o !== undefined && o.set.length + o.add.length + o.remove.length > 0;

/** The non-empty header operations in order; a shared empty list for the common case of none. */
function opsList(a: HeaderOps, b: HeaderOps, c: HeaderOps | undefined): readonly HeaderOps[] {
  if (!hasOps(a) && !hasOps(b) && !hasOps(c)) return NO_OPS;
  return [a, b, c].filter(hasOps);
}

/** The mirrors that fired, resolved to clusters; one that cannot be resolved is skipped (a mirror never fails the request). */
function mirrorPlans(cfg: TrafficConfig, directory: ServiceDirectory, fired: readonly { host: string; subset: string | undefined; port: number | undefined }[], main: Target, requestPort: number, clock: Clock): readonly MirrorPlan[] {
  if (fired.length === 0) return NO_MIRRORS;
  const out: MirrorPlan[] = [];
  for (const m of fired) {
    const view = cfg.services.get(m.host);
    const entry = view === undefined ? undefined : directory.lookup(view.name, view.namespace);
    if (view === undefined || entry === undefined) continue;
    const subset = cfg.clusters.subsetEndpoints(view, m.subset);
    if (!subset.ok) continue;
    const port = m.port ?? requestPort;
    const cluster = cfg.registry.cluster(clusterName(m.host, m.subset, port), cfg.clusters.policyFor(m.host, m.subset, port), clock.now());
    out.push({ cluster, endpoints: subset.endpoints, entry: { endpoints: subset.endpoints, identities: entry.identities }, target: { service: view.name, namespace: view.namespace, authority: main.authority, path: main.path } });
  }
  return out;
}

/** Whether an authority names a port (`host:80`, `[::1]:80`), not just a host or an IPv6 literal. */
function hasPort(authority: string): boolean {
  const colon = authority.lastIndexOf(':');
  return colon !== -1 && colon > authority.lastIndexOf(']');
}

function refuse(code: 'WEFT_PROXY_NO_ROUTE' | 'WEFT_PROXY_NO_CLUSTER', reason: string): RouteStep {
  return { kind: 'refuse', error: new ProxyError(code, reason), override: undefined };
}

function abortOf(abort: { readonly httpStatus: number } | { readonly grpcStatus: string; readonly grpcCode: number }): RouteStep & { kind: 'refuse' } {
  // An HTTP/1.1 caller cannot be given a gRPC status in trailers here: it gets 200 with grpc-status, as Envoy answers.
  if ('httpStatus' in abort) return { kind: 'refuse', error: new ProxyError('WEFT_PROXY_FAULT_ABORT', 'fault filter abort'), override: { status: abort.httpStatus } };
  return { kind: 'refuse', error: new ProxyError('WEFT_PROXY_FAULT_ABORT', 'fault filter abort'), override: { status: 200, headers: ['grpc-status', String(abort.grpcCode), 'content-type', 'application/grpc'] } };
}

function withOps(base: [string, string][], ops: HeaderOps): [string, string][] {
  const out = base.slice();
  applyOps(out, ops);
  return out;
}

/** Applies set/add/remove to a list of [name, value] pairs (names lowercase). */
function applyOps(list: [string, string][], ops: HeaderOps): void {
  for (const name of ops.remove) removeAll(list, name);
  for (const [name, value] of ops.set) {
    removeAll(list, name);
    list.push([name, value]);
  }
  for (const [name, value] of ops.add) list.push([name, value]);
}

function removeAll(list: [string, string][], name: string): void {
  for (let i = list.length - 1; i >= 0; i--) if (list[i]![0] === name) list.splice(i, 1);
}

const readyCache = new WeakMap<readonly EndpointView[], readonly EndpointView[]>();

/**
 * The endpoints whose workloads pass their own health check, the same list object while the
 * snapshot lasts (balancers cache their tables by it). A workload that fails its check is not in
 * the cluster at all, not even for panic mode: Istio leaves a pod that is not ready out of the
 * endpoints it sends Envoy, and all of them failing is `no healthy upstream`.
 */
function ready(endpoints: readonly EndpointView[]): readonly EndpointView[] {
  let list = readyCache.get(endpoints);
  if (list === undefined) {
    list = endpoints.every((ep) => ep.healthy) ? endpoints : endpoints.filter((ep) => ep.healthy);
    readyCache.set(endpoints, list);
  }
  return list;
}

interface PlanParts {
  /** The destination's endpoints whose workloads pass their own health check. */
  readonly endpoints: readonly EndpointView[];
  /** How many endpoints the destination has, ready or not. */
  readonly registered: number;
  readonly identities: ReadonlySet<string>;
  readonly target: Target;
  readonly cluster: ClusterState;
  readonly active: ActiveRequests;
  readonly requestOps: readonly HeaderOps[];
  readonly responseOps: readonly HeaderOps[];
  readonly timeoutMs: number | undefined;
  readonly retry: RetryPolicy;
  readonly delayMs: number | undefined;
  readonly abort: (RouteStep & { kind: 'refuse' }) | undefined;
  readonly random: () => number;
  readonly clock: Clock;
  readonly hashInput: HashInput | undefined;
  readonly mirrors: readonly MirrorPlan[];
}

/** What one routed request carries through its exchange; it also holds the cluster's circuit breaker slots. */
export class TrafficPlan {
  readonly entry: ServiceEntry;
  readonly target: Target;
  readonly cluster: ClusterState;
  readonly timeoutMs: number | undefined;
  readonly retry: RetryPolicy;
  readonly delayMs: number | undefined;
  /** A fault abort drawn together with a delay: answered once the delay is over. */
  readonly abort: (RouteStep & { kind: 'refuse' }) | undefined;
  /** Mirrors that fired for this request (copies sent fire-and-forget). */
  readonly mirrors: readonly MirrorPlan[];
  readonly #p: PlanParts;
  #requestSlot = false;
  #retrySlots = 0;
  /** A generated affinity cookie (consistentHash.httpCookie with a ttl) the response sets. */
  #cookie: AffinityCookie | undefined;

  constructor(p: PlanParts) {
    this.#p = p;
    this.entry = { endpoints: p.endpoints, identities: p.identities };
    this.target = p.target;
    this.cluster = p.cluster;
    this.timeoutMs = p.timeoutMs;
    this.retry = p.retry;
    this.delayMs = p.delayMs;
    this.abort = p.abort;
    this.mirrors = p.mirrors;
  }

  /** Takes the cluster's request slot (`http2MaxRequests`); a refusal to answer when it is full. */
  admit(): RouteStep & { kind: 'refuse' } | undefined {
    if (this.cluster.breaker.tryAcquire('request') === 'overflow') {
      return { kind: 'refuse', error: new ProxyError('WEFT_PROXY_OVERFLOW', `${this.cluster.name}: too many requests in flight (circuit breaker)`), override: OVERLOADED };
    }
    this.#requestSlot = true;
    return undefined;
  }

  /** Gives back every circuit breaker slot the request holds; once per request. */
  release(): void {
    if (this.#requestSlot) this.cluster.breaker.release('request');
    this.#requestSlot = false;
    for (; this.#retrySlots > 0; this.#retrySlots--) this.cluster.breaker.release('retry');
  }

  /** The endpoint for the next try, or the refusal when none can take it. */
  pick(avoid: EndpointFilter | undefined): Endpoint | ProxyError {
    const nowMs = this.#p.clock.now();
    const request = this.#p.hashInput;
    const p = this.cluster.balancer.pick(this.#p.endpoints, { nowMs, ...(avoid === undefined ? {} : { avoid }), ...(request === undefined ? {} : { request }) });
    if (p.kind === 'endpoint') {
      this.#cookie = p.cookie;
      return p.endpoint;
    }
    if (p.kind === 'passthrough') return new ProxyError('WEFT_PROXY_NO_CLUSTER', `${this.cluster.name}: loadBalancer PASSTHROUGH is not supported for mesh services`);
    return p.reason === 'no-endpoints' && this.#p.registered === 0
      ? new ProxyError('WEFT_PROXY_NO_ENDPOINTS', `${this.cluster.name} has no endpoints`)
      : new ProxyError('WEFT_PROXY_NO_ENDPOINTS', 'no healthy upstream', { message: `${this.cluster.name} has no healthy endpoint` });
  }

  begin(key: string): void {
    this.#p.active.begin(key);
  }

  end(key: string): void {
    this.#p.active.end(key);
  }

  /** Feeds outlier detection with how a try on `key` went. */
  record(key: string, outcome: Outcome | { status: number }): void {
    const nowMs = this.#p.clock.now();
    const outlier = this.cluster.outlier;
    if (outlier === undefined) return;
    outlier.record(key, typeof outcome === 'object' ? outcomeOfStatus(outcome.status, this.cluster.policy.outlierDetection) : outcome, nowMs);
  }

  /**
   * Whether to try again after `outcome`, `retriesSoFar` retries made: the route's policy, then
   * the cluster's retry budget (`maxRetries`). The delay to wait first, or undefined: no retry.
   */
  retryAfter(outcome: RetryOutcome, retriesSoFar: number): number | undefined {
    if (retriesSoFar >= MAX_RETRIES_PER_REQUEST || !retryDecision(this.retry, outcome, retriesSoFar).retry) return undefined;
    if (this.cluster.breaker.tryAcquire('retry') === 'overflow') return undefined;
    this.#retrySlots++;
    return backoffMs(this.retry, retriesSoFar + 1, this.#p.random);
  }

  /** The route's request header operations, on the HTTP/2 headers about to be sent. */
  editRequest(h: OutgoingHttpHeaders): void {
    for (const ops of this.#p.requestOps) {
      for (const name of ops.remove) delete h[name];
      for (const [name, value] of ops.set) h[name] = value;
      for (const [name, value] of ops.add) {
        const cur = h[name];
        h[name] = cur === undefined ? value : Array.isArray(cur) ? [...cur, value] : [String(cur), value];
      }
    }
  }

  get editsResponse(): boolean {
    return this.#p.responseOps.length > 0 || this.#cookie !== undefined;
  }

  /** The route's response header operations, on the flat name/value list written to the app. */
  editResponse(flat: string[]): string[] {
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
    for (const ops of this.#p.responseOps) applyOps(pairs, ops);
    if (this.#cookie !== undefined) pairs.push(['set-cookie', this.#cookie.setCookie]);
    return pairs.flat();
  }
}

/** A header getter over node's parsed request headers (repeated values already joined, set-cookie a list). */
export function headerGetter(headers: IncomingHttpHeaders): HeaderGetter {
  return (name) => headers[name];
}

/** What consistent hashing reads of a request: its headers, cookies, query and the caller's address. */
export function hashInputOf(headers: IncomingHttpHeaders, path: string, remote: { address: string | undefined; port: number | undefined }): HashInput {
  let cookies: Map<string, string> | undefined;
  let query: URLSearchParams | undefined;
  const address = remote.address ?? '';
  return {
    header: (name) => {
      const v = headers[name];
      return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
    },
    cookie: (name) => {
      if (cookies === undefined) {
        cookies = new Map();
        const raw = headers.cookie ?? '';
        // Bounded: at most 256 pairs are read from one Cookie header.
        for (const part of raw.split(';', 256)) {
          const eq = part.indexOf('=');
          if (eq <= 0) continue;
          const k = part.slice(0, eq).trim();
          if (!cookies.has(k)) cookies.set(k, part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
        }
      }
      return cookies.get(name);
    },
    query: (name) => {
      const q = path.indexOf('?');
      query ??= new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
      return query.get(name) ?? undefined;
    },
    sourceIp: address,
    downstreamAddress: `${address}:${remote.port ?? 0}`,
  };
}
