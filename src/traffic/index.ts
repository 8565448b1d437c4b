// The traffic domain: Istio's VirtualService routing (this half) and DestinationRule cluster
// behaviour, pure (no sockets, files, clock or randomness of its own: time and random draws are
// passed in). docs/traffic.md describes it field by field.
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
export type { CallerView, EndpointView, ServicePortView, ServiceView, TrafficProtocol } from './types.js';
