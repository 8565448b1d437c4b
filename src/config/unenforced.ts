// The one list of fields weft accepts (they validate, so Istio's YAML applies unchanged) but does
// not act on yet. `weft apply` and `weft analyze` print each as "accepted, not enforced", so
// nothing is silently ignored. When a later change enforces a field, it deletes its entry here.
import type { Resource, ResourceKind } from './generated/types.js';
import { formatPath, type Segment } from './path.js';

/** A field of a kind that weft does not enforce; `[*]` in `path` stands for every list item. */
export interface UnenforcedRule {
  readonly kind: ResourceKind | '*';
  readonly path: string;
  readonly reason: string;
  /** Only when the value passes this test (e.g. one enum value); absent = whenever the field is set. */
  readonly when?: (value: unknown) => boolean;
}

/** A field of one resource that is accepted but not enforced, with why. */
export interface UnenforcedField {
  readonly path: string;
  readonly reason: string;
}

const NO_WAYPOINTS = 'targetRef policies apply to waypoints and gateways; weft sidecars ignore them, as Istio sidecars do';
const NO_GATEWAY = 'the weft gateway is not built yet';
const NO_CLIENT_TLS = 'the sidecar originates its own mutual TLS to mesh services; client TLS settings are not applied yet';
const NO_LOCALITY = 'locality load balancing is not applied yet: endpoints carry their localities, but the outbound proxy balances without priorities';
const NO_TCP_POOL = 'the sidecar keeps its own pool of HTTP/2 sessions per endpoint; connection-level limits and timeouts are not applied yet';
const NO_H2_TUNING = 'HTTP/2 session settings towards mesh endpoints are the sidecar\'s own';
const NO_STREAM_ROUTING = 'the outbound proxy routes HTTP requests; CONNECT tunnels go to the service their target names';
const NO_K8S = 'weft has no Kubernetes garbage collector or finalizers';
const NO_REQUEST_TELEMETRY = 'access logs and spans are validated and built, but the sidecar does not write them per request yet';

/** What the sidecar does not apply of a DestinationRule traffic policy at `at`; the rest (balancing, outlier detection, request limits) it applies. */
function clientPolicyRules(at: string): UnenforcedRule[] {
  const rules: UnenforcedRule[] = [
    { kind: 'DestinationRule', path: `${at}.tls`, reason: NO_CLIENT_TLS },
    { kind: 'DestinationRule', path: `${at}.loadBalancer.localityLbSetting`, reason: NO_LOCALITY },
    { kind: 'DestinationRule', path: `${at}.loadBalancer.zoneAwareLbSetting`, reason: NO_LOCALITY },
    { kind: 'DestinationRule', path: `${at}.loadBalancer.warmupDurationSecs`, reason: 'slow start is not applied yet' },
    { kind: 'DestinationRule', path: `${at}.loadBalancer.warmup`, reason: 'slow start is not applied yet' },
    { kind: 'DestinationRule', path: `${at}.connectionPool.tcp`, reason: NO_TCP_POOL },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.http1MaxPendingRequests`, reason: 'requests are never queued for a connection: over http2MaxRequests they are refused at once' },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.maxRequestsPerConnection`, reason: NO_TCP_POOL },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.idleTimeout`, reason: NO_TCP_POOL },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.h2UpgradePolicy`, reason: 'mesh traffic is always HTTP/2 between sidecars' },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.useClientProtocol`, reason: 'mesh traffic is always HTTP/2 between sidecars' },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.maxConcurrentStreams`, reason: NO_H2_TUNING },
    { kind: 'DestinationRule', path: `${at}.connectionPool.http.http2KeepAlive`, reason: NO_H2_TUNING },
  ];
  return rules;
}

export const UNENFORCED_RULES: readonly UnenforcedRule[] = [
  { kind: '*', path: 'metadata.finalizers', reason: NO_K8S },
  { kind: '*', path: 'metadata.ownerReferences', reason: NO_K8S },
  { kind: '*', path: 'metadata.generateName', reason: 'weft resources are named by metadata.name' },

  { kind: 'RequestAuthentication', path: 'spec.targetRef', reason: NO_WAYPOINTS },
  { kind: 'RequestAuthentication', path: 'spec.targetRefs', reason: NO_WAYPOINTS },

  { kind: 'AuthorizationPolicy', path: 'spec.targetRef', reason: NO_WAYPOINTS },
  { kind: 'AuthorizationPolicy', path: 'spec.targetRefs', reason: NO_WAYPOINTS },

  ...clientPolicyRules('spec.trafficPolicy'),
  ...clientPolicyRules('spec.trafficPolicy.portLevelSettings[*]'),
  ...clientPolicyRules('spec.subsets[*].trafficPolicy'),
  ...clientPolicyRules('spec.subsets[*].trafficPolicy.portLevelSettings[*]'),
  { kind: 'DestinationRule', path: 'spec.trafficPolicy.tunnel', reason: 'HTTP CONNECT/POST tunnelling to a destination is not supported yet' },
  { kind: 'DestinationRule', path: 'spec.trafficPolicy.proxyProtocol', reason: 'PROXY protocol towards a destination is not supported yet' },
  { kind: 'DestinationRule', path: 'spec.trafficPolicy.retryBudget', reason: 'retry budgets are not applied yet: connectionPool.http.maxRetries bounds retries' },

  { kind: 'VirtualService', path: 'spec.gateways', reason: NO_GATEWAY },
  { kind: 'VirtualService', path: 'spec.tls', reason: `TLS (SNI) routing is not applied yet: ${NO_STREAM_ROUTING}` },
  { kind: 'VirtualService', path: 'spec.tcp', reason: `TCP routing is not applied yet: ${NO_STREAM_ROUTING}` },
  { kind: 'VirtualService', path: 'spec.http[*].match[*].gateways', reason: NO_GATEWAY },
  { kind: 'VirtualService', path: 'spec.http[*].match[*].statPrefix', reason: 'per-route statistics prefixes are not emitted' },

  { kind: 'Gateway', path: 'spec.servers', reason: NO_GATEWAY },
  { kind: 'Gateway', path: 'spec.selector', reason: NO_GATEWAY },

  { kind: 'ServiceEntry', path: 'spec.hosts', reason: 'ServiceEntry hosts are not reachable through the sidecar yet: the outbound proxy routes only to services registered with the control plane' },
  { kind: 'ServiceEntry', path: 'spec.resolution', when: (v) => v !== 'NONE' && v !== 'STATIC', reason: 'only resolution NONE and STATIC are supported yet' },
  { kind: 'ServiceEntry', path: 'spec.workloadSelector', reason: 'ServiceEntry workload selection is not supported yet' },
  { kind: 'ServiceEntry', path: 'spec.endpoints[*].network', reason: 'weft has one network' },
  { kind: 'ServiceEntry', path: 'spec.endpoints[*].locality', reason: 'locality-aware load balancing is not supported yet' },
  { kind: 'ServiceEntry', path: 'spec.endpoints[*].weight', reason: 'endpoint weights are not applied yet' },

  { kind: 'MeshConfig', path: 'spec.accessLogFile', when: (v) => v !== '', reason: NO_REQUEST_TELEMETRY },
  { kind: 'MeshConfig', path: 'spec.accessLogFormat', reason: NO_REQUEST_TELEMETRY },
  { kind: 'MeshConfig', path: 'spec.defaultConfig.tracing', reason: NO_REQUEST_TELEMETRY },
  { kind: 'MeshConfig', path: 'spec.defaultProviders.tracing', reason: NO_REQUEST_TELEMETRY },
  { kind: 'MeshConfig', path: 'spec.extensionProviders[*].opentelemetry.grpc', reason: 'weft exports OTLP over HTTP only: an opentelemetry provider without http is sent OTLP/HTTP at /v1/traces' },
];

function parsePattern(path: string): Segment[] {
  return path.split('.').flatMap((part) => {
    const m = /^([^[]+)((\[\*\])*)$/.exec(part);
    if (m === null) throw new Error(`bad unenforced path ${path}`);
    return [m[1]!, ...Array.from({ length: m[2]!.length / 3 }, () => '*')];
  });
}

function* matches(value: unknown, pattern: readonly Segment[], at: Segment[]): Generator<[Segment[], unknown]> {
  if (value === undefined) return;
  if (pattern.length === 0) {
    yield [at, value];
    return;
  }
  const [head, ...rest] = pattern;
  if (head === '*') {
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* matches(value[i], rest, [...at, i]);
    return;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    yield* matches((value as Record<string, unknown>)[head!], rest, [...at, head!]);
  }
}

/**
 * The fields of `resource` that weft accepts but does not enforce, each with its concrete path
 * (`spec.http[1].retries`) and the reason, from UNENFORCED_RULES.
 */
export function unenforcedFields(resource: Resource): UnenforcedField[] {
  const out: UnenforcedField[] = [];
  for (const rule of UNENFORCED_RULES) {
    if (rule.kind !== '*' && rule.kind !== resource.kind) continue;
    for (const [segments, value] of matches(resource, parsePattern(rule.path), [])) {
      if (rule.when === undefined || rule.when(value)) out.push({ path: formatPath(segments), reason: rule.reason });
    }
  }
  return out;
}
