// The traffic domain's API: what the proxy and the sidecar import.

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
