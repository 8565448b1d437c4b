// The traffic domain: Istio's VirtualService routing and DestinationRule cluster behaviour, pure
// (no sockets, files, clock or randomness of its own: time and random draws are passed in). docs/traffic.md describes it field by field.

// VirtualService: hosts, matching, routes.
export { compileRoutes, exportedTo, type CompileRoutesInput } from './compile.js';
export { RouteTable } from './route-table.js';
export type { RouteRequest, HeaderGetter } from './request.js';
export type { HostResolution, ServiceEntryView, OutboundTrafficPolicyMode } from './host-registry.js';
export type { RouteDecision, ForwardDecision, RedirectDecision, DirectDecision, NoRouteDecision, RouteDestination, StreamDecision, RouteIssue, RouteConflict } from './decision.js';
export type { HeaderOps, CompiledHeaders } from './header-ops.js';
export { pick, effectiveWeights } from './weighted.js';
export { retryDecision, backoffMs, compileRetry, DEFAULT_RETRY_POLICY, NO_RETRIES, type RetryPolicy, type RetryOutcome, type RetryVerdict } from './retry.js';
export { faultDecision, compileFault, GRPC_STATUS_CODES, type FaultPolicy, type FaultVerdict } from './fault.js';
export { mirrorDecision, type MirrorTarget } from './mirror.js';
export { corsPreflight, corsResponseHeaders, compileCors, type CompiledCors, type CorsPreflight, type CorsHeaders } from './cors.js';
export { parseAuthority, meshNameOf, type ParsedAuthority, type MeshName } from './host.js';

// DestinationRule: policies, balancing, outlier detection, circuit breaking.
export { compileClusters, canonicalHost, mergeTrafficPolicy, visibleTo } from './destination-rules.js';
export type { ClusterIssue, ClusterTable, ClusterTableInput, MergedRule, SubsetEndpoints } from './destination-rules.js';
export { resolveConnectionPool, resolveLoadBalancer, resolveOutlierDetection, resolvePolicy, durationMs, UNLIMITED, MAX_RING_SIZE } from './cluster-policy.js';
export type { ClusterPolicy, ConnectionPoolLimits, HashAlgorithm, HashKeySource, LoadBalancerPolicy, OutlierPolicy, SimpleAlgorithm } from './cluster-policy.js';
export { ClusterBalancer } from './cluster-balancer.js';
export type { ClusterBalancerOptions, EjectionView, Pick, PickContext } from './cluster-balancer.js';
export type { EndpointFilter, LoadView } from './balancers.js';
export type { AffinityCookie, HashInput } from './consistent-hash.js';
export { planLocality, priorityLoad } from './locality.js';
export { OutlierDetector, outcomeOfStatus } from './outlier.js';
export type { EjectionReason, Outcome, OutlierStats } from './outlier.js';
export { CircuitBreaker } from './circuit-breaker.js';
export { ClusterRegistry, clusterName } from './cluster-registry.js';
export type { ClusterState, ClusterStats } from './cluster-registry.js';
export type { Admission, BreakerResource, BreakerStats } from './circuit-breaker.js';

export type { CallerView, EndpointView, ServicePortView, ServiceView, TrafficProtocol } from './types.js';
