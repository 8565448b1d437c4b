// The traffic configuration a sidecar's outbound proxy applies, compiled once per accepted
// snapshot: the VirtualService route table and the DestinationRule cluster table for this
// workload, over the snapshot's services. The per-cluster state (balancers, outlier detectors,
// circuit breakers) and the active-request counts live across snapshots.
import type { MeshSnapshot, ServiceMessage } from '../api/control-plane-api.js';
import type { MeshConfigSpec, StoredResource } from '../config/index.js';
import { ActiveRequests, type TrafficConfig } from '../proxy/index.js';
import type { Logger } from '../telemetry/logger.js';
import { ClusterRegistry, compileClusters, compileRoutes, type CallerView, type EndpointView, type ServiceView, type TrafficProtocol } from '../traffic/index.js';

const PROTOCOLS: ReadonlySet<string> = new Set<TrafficProtocol>(['http', 'http2', 'grpc', 'grpc-web', 'tcp', 'tls', 'https']);

/** Istio's protocols that are TCP to the data path (Kubernetes port names such as `mongo`, `mysql`). */
const TCP_LIKE: ReadonlySet<string> = new Set(['mongo', 'mysql', 'redis']);

/**
 * The snapshot's services as the traffic engine reads them. The one place that decides an
 * endpoint's health and locality: as the registry carries them (an older control plane that says
 * nothing: healthy, locality unknown). A port the registry left unnamed ('') is sniffed.
 */
export function serviceViews(services: readonly ServiceMessage[]): ServiceView[] {
  return services.map((s) => ({
    name: s.name,
    namespace: s.namespace,
    ports: s.ports.map((p) => {
      const lower = p.protocol.toLowerCase();
      const protocol = TCP_LIKE.has(lower) ? 'tcp' : lower;
      return PROTOCOLS.has(protocol) ? { name: p.name, port: p.port, protocol: protocol as TrafficProtocol } : { name: p.name, port: p.port };
    }),
    endpoints: s.endpoints.map((e): EndpointView => ({
      key: e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`,
      address: e.address,
      port: e.port,
      spiffeId: e.spiffeId,
      labels: { ...e.labels },
      locality: e.locality ?? '',
      healthy: e.healthy !== false,
    })),
  }));
}

export interface TrafficInput {
  readonly version: number;
  readonly mesh: MeshConfigSpec;
  readonly resources: readonly StoredResource[];
  readonly services: readonly ServiceView[];
}

/** One per sidecar: compiles each snapshot for the workload and keeps the cluster state between them. */
export class TrafficCompiler {
  readonly #caller: CallerView;
  readonly #logger: Logger;
  readonly #clusterDomain: string;
  readonly #active = new ActiveRequests();
  readonly #registry: ClusterRegistry;

  /** `clusterDomain`: the services' DNS domain without `svc.` (`cluster.local`). */
  constructor(workload: { namespace: string; labels: Readonly<Record<string, string>>; locality?: string }, logger: Logger, clusterDomain = 'cluster.local') {
    this.#caller = { namespace: workload.namespace, labels: workload.labels, locality: workload.locality ?? '' };
    this.#logger = logger;
    this.#clusterDomain = clusterDomain;
    this.#registry = new ClusterRegistry({ caller: this.#caller, random: Math.random, load: this.#active });
  }

  /** Compiles a snapshot; never throws (what cannot be applied fails closed and is logged once here). */
  compile(input: TrafficInput): TrafficConfig {
    const { mesh, resources, services } = input;
    const routes = compileRoutes({ mesh, caller: this.#caller, resources, services, clusterDomain: this.#clusterDomain });
    const clusters = compileClusters({ mesh, caller: this.#caller, resources, services, clusterDomain: `svc.${this.#clusterDomain}` });
    for (const issue of routes.issues) this.#logger.log('warn', 'traffic.route.issue', { version: input.version, resource: issue.resource, path: issue.path, message: issue.message });
    for (const c of routes.conflicts) this.#logger.log('warn', 'traffic.route.conflict', { version: input.version, host: c.host, chosen: c.chosen, ignored: c.ignored });
    for (const issue of clusters.issues) this.#logger.log('warn', 'traffic.cluster.issue', { version: input.version, kind: issue.kind, rule: issue.rule, message: issue.message });
    const byHost = new Map<string, ServiceView>();
    for (const s of services) byHost.set(`${s.name}.${s.namespace}.svc.${this.#clusterDomain}`, s);
    return { routes, clusters, registry: this.#registry, services: byHost, active: this.#active };
  }

  /** Compiles what a snapshot carries. */
  compileSnapshot(snapshot: MeshSnapshot, prepared: { mesh: MeshConfigSpec; resources: readonly StoredResource[] }): TrafficConfig {
    return this.compile({ version: snapshot.version, mesh: prepared.mesh, resources: prepared.resources, services: serviceViews(snapshot.services) });
  }
}

/**
 * Totals over the sidecar's destination clusters for `/stats` (per-cluster names do not fit a
 * metric name): clusters with state, outlier ejections (ever, now, refused by
 * maxEjectionPercent) and circuit breaker overflows per resource.
 */
export function trafficStats(cfg: TrafficConfig | undefined): Record<string, number> {
  const out = {
    traffic_clusters: 0,
    traffic_outlier_ejections_total: 0,
    traffic_outlier_ejections_active: 0,
    traffic_outlier_ejections_overflow_total: 0,
    traffic_breaker_request_overflows_total: 0,
    traffic_breaker_retry_overflows_total: 0,
  };
  if (cfg === undefined) return out;
  for (const c of cfg.registry.stats()) {
    out.traffic_clusters++;
    out.traffic_outlier_ejections_total += c.outlier?.ejectionsTotal ?? 0;
    out.traffic_outlier_ejections_active += c.outlier?.ejectionsActive ?? 0;
    out.traffic_outlier_ejections_overflow_total += c.outlier?.ejectionsOverflow ?? 0;
    out.traffic_breaker_request_overflows_total += c.breaker.overflows.request;
    out.traffic_breaker_retry_overflows_total += c.breaker.overflows.retry;
  }
  return out;
}
