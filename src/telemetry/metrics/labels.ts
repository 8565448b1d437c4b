// Istio's standard metric labels, in the order Istio's stats filter emits them, and the values a
// sidecar derives from what it knows of itself and of its peer. Every series carries every label:
// Kiali skips a series that lacks one, so a value nobody knows is the literal `unknown` (a missing
// canonical revision is `latest`, a non-gRPC status the empty string), never an absent label.

/** The labels of the HTTP metrics (istio_requests_total and the three histograms). */
export const HTTP_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

/** The TCP metrics carry the same labels without response_code and grpc_response_status. */
export const TCP_LABEL_NAMES = HTTP_LABEL_NAMES.filter((n) => n !== 'response_code' && n !== 'grpc_response_status');

export const UNKNOWN = 'unknown';
export const LATEST = 'latest';

/** Istio's canonical service and revision labels, read first when a workload sets them. */
export const CANONICAL_NAME_LABEL = 'service.istio.io/canonical-name';
export const CANONICAL_REVISION_LABEL = 'service.istio.io/canonical-revision';

export type Reporter = 'source' | 'destination';
export type ConnectionSecurityPolicy = 'mutual_tls' | 'none' | 'unknown';

/** One side of a hop, as the labels name it (source_* or destination_*). */
export interface WorkloadLabelValues {
  readonly workload: string;
  readonly namespace: string;
  readonly principal: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
}

/**
 * The labels that stay the same for every request between one caller and one destination
 * service: everything but the protocol and the outcome. The proxy computes them once per peer.
 */
export interface PeerLabels {
  readonly reporter: Reporter;
  readonly source: WorkloadLabelValues;
  readonly destination: WorkloadLabelValues;
  /** The destination service's FQDN (name.namespace.svc.cluster.local), else the Host the caller named. */
  readonly destinationService: string;
  readonly destinationServiceName: string;
  readonly destinationServiceNamespace: string;
  readonly connectionSecurityPolicy: ConnectionSecurityPolicy;
}

/** What a sidecar knows of a workload: its own facts, or those its peer's certificate and the registry give. */
export interface WorkloadFacts {
  /** The service the workload serves; with the version label it names the workload. */
  readonly service?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** The SPIFFE ID (spiffe://td/ns/N/sa/S). */
  readonly principal?: string;
  readonly cluster?: string;
}

const MAX_LABEL_VALUE = 256;

/** A label value: bounded in length and never empty where Istio writes `unknown`. */
function value(v: string | undefined, fallback = UNKNOWN): string {
  if (v === undefined || v === '') return fallback;
  return v.length > MAX_LABEL_VALUE ? v.slice(0, MAX_LABEL_VALUE) : v;
}

/**
 * The workload name of a service and version: `reviews-v2`, as a Kubernetes Deployment of that
 * version is named. Never an instance id, so replicas share their series.
 */
export function workloadName(service: string | undefined, labels: Readonly<Record<string, string>> = {}): string {
  if (service === undefined || service === '') return UNKNOWN;
  const version = labels.version;
  return value(version === undefined || version === '' ? service : `${service}-${version}`);
}

/**
 * The label values of one workload, defaulting as Istio does: the canonical service is the
 * `service.istio.io/canonical-name` label, else `app.kubernetes.io/name`, else `app`, else the
 * workload name; the canonical revision is `service.istio.io/canonical-revision`, else
 * `app.kubernetes.io/version`, else `version`, else `latest`.
 */
export function workloadLabelValues(facts: WorkloadFacts): WorkloadLabelValues {
  const labels = facts.labels ?? {};
  const fromPrincipal = facts.principal === undefined ? undefined : parsePrincipal(facts.principal);
  const namespace = facts.namespace ?? fromPrincipal?.namespace;
  const workload = workloadName(facts.service ?? fromPrincipal?.serviceAccount, labels);
  return {
    workload,
    namespace: value(namespace),
    principal: value(facts.principal),
    app: value(labels.app),
    version: value(labels.version),
    canonicalService: value(labels[CANONICAL_NAME_LABEL] || labels['app.kubernetes.io/name'] || labels.app || (workload === UNKNOWN ? undefined : workload)),
    canonicalRevision: value(labels[CANONICAL_REVISION_LABEL] || labels['app.kubernetes.io/version'] || labels.version, LATEST),
    cluster: value(facts.cluster),
  };
}

/**
 * The namespace and service account of a SPIFFE ID of Istio's form; undefined parts when it is
 * not one. A peer's namespace is read from `/ns/<ns>/` of its certificate's SAN, as Istio does.
 */
export function parsePrincipal(spiffeId: string): { namespace?: string; serviceAccount?: string } {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(spiffeId);
  return m === null ? {} : { namespace: m[1], serviceAccount: m[2] };
}

/** The service labels of a destination: FQDN, short name and namespace. */
export function destinationServiceLabels(name: string | undefined, namespace: string | undefined, clusterDomain = 'cluster.local'): Pick<PeerLabels, 'destinationService' | 'destinationServiceName' | 'destinationServiceNamespace'> {
  const known = name !== undefined && name !== '' && namespace !== undefined && namespace !== '';
  return {
    destinationService: known ? value(`${name}.${namespace}.svc.${clusterDomain}`) : value(name),
    destinationServiceName: value(name),
    destinationServiceNamespace: value(namespace),
  };
}

/**
 * The peer labels of one hop. The source reporter (the caller's sidecar) does not know whether the
 * destination saw mutual TLS and writes `unknown`; the destination reporter writes `mutual_tls`
 * when the caller presented an SVID, `none` for a plaintext caller.
 */
export function peerLabels(hop: {
  reporter: Reporter;
  source: WorkloadFacts;
  destination: WorkloadFacts;
  /** The destination service's name and namespace; default the destination workload's. */
  service?: { name?: string; namespace?: string };
  /** Destination reporter only: whether the caller was verified over mutual TLS. */
  mutualTls?: boolean;
  clusterDomain?: string;
}): PeerLabels {
  const destination = workloadLabelValues(hop.destination);
  const svcName = hop.service?.name ?? hop.destination.service;
  const svcNamespace = hop.service?.namespace ?? hop.destination.namespace ?? (destination.namespace === UNKNOWN ? undefined : destination.namespace);
  return {
    reporter: hop.reporter,
    source: workloadLabelValues(hop.source),
    destination,
    ...destinationServiceLabels(svcName, svcNamespace, hop.clusterDomain),
    connectionSecurityPolicy: hop.reporter === 'source' || hop.mutualTls === undefined ? 'unknown' : hop.mutualTls ? 'mutual_tls' : 'none',
  };
}

/** The label object of a peer, with the per-request labels, in Istio's order. */
export function peerLabelObject(p: PeerLabels, outcome: { protocol: string; code?: string; grpcStatus?: string; flags: string }, tcp: boolean): Record<string, string> {
  const o: Record<string, string> = {
    reporter: p.reporter,
    source_workload: p.source.workload,
    source_canonical_service: p.source.canonicalService,
    source_canonical_revision: p.source.canonicalRevision,
    source_workload_namespace: p.source.namespace,
    source_principal: p.source.principal,
    source_app: p.source.app,
    source_version: p.source.version,
    source_cluster: p.source.cluster,
    destination_workload: p.destination.workload,
    destination_workload_namespace: p.destination.namespace,
    destination_principal: p.destination.principal,
    destination_app: p.destination.app,
    destination_version: p.destination.version,
    destination_service: p.destinationService,
    destination_canonical_service: p.destination.canonicalService,
    destination_canonical_revision: p.destination.canonicalRevision,
    destination_service_name: p.destinationServiceName,
    destination_service_namespace: p.destinationServiceNamespace,
    destination_cluster: p.destination.cluster,
    request_protocol: outcome.protocol,
  };
  if (!tcp) {
    o.response_code = outcome.code ?? '0';
    o.grpc_response_status = outcome.grpcStatus ?? '';
  }
  o.response_flags = outcome.flags;
  o.connection_security_policy = p.connectionSecurityPolicy;
  return o;
}

/** A stable key of the peer labels: one string per peer, built when a peer is first seen. */
export function peerKey(p: PeerLabels): string {
  const s = p.source;
  const d = p.destination;
  return [
    p.reporter, s.workload, s.canonicalService, s.canonicalRevision, s.namespace, s.principal, s.app, s.version, s.cluster,
    d.workload, d.namespace, d.principal, d.app, d.version, p.destinationService, d.canonicalService, d.canonicalRevision,
    p.destinationServiceName, p.destinationServiceNamespace, d.cluster, p.connectionSecurityPolicy,
  ].join('\u0000');
}
