// The control plane's metrics, under Istio's names where istiod has them (pilot_xds_pushes,
// pilot_proxy_convergence_time, pilot_xds, pilot_total_xds_rejects, pilot_services,
// citadel_server_*), plus weft's configuration and registry sizes and the process metrics, on a
// plain-HTTP listener that serves /metrics and nothing else.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { systemClock } from '../lib/clock.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../lib/connection-guard.js';
import { WEFT_VERSION } from '../lib/version.js';
import { PrometheusExposition, processMetricsRegistry } from '../telemetry/metrics/index.js';

/** What the metrics read at scrape time from the running control plane. */
export interface ControlPlaneFigures {
  connectedProxies(): number;
  /** Stored resources by kind. */
  resourcesByKind(): Readonly<Record<string, number>>;
  registry(): { workloads: number; services: number; endpoints: number };
  /** The root certificate's not-after, milliseconds since the epoch. */
  rootNotAfter(): number;
}

/** istiod's convergence buckets, in seconds. */
const CONVERGENCE_BUCKETS = [0.1, 0.5, 1, 3, 5, 10, 20, 30];

/** The counters the gRPC services and the publisher move; everything else is read at scrape. */
export class ControlPlaneMetrics {
  readonly registry: Registry;
  readonly #pushes: Counter<'type'>;
  readonly #rejects: Counter<'type'>;
  readonly #convergence: Histogram;
  readonly #csrs: Counter;
  readonly #issued: Counter;
  readonly exposition: PrometheusExposition;

  constructor(figures: ControlPlaneFigures) {
    const r = processMetricsRegistry();
    this.registry = r;
    this.#pushes = new Counter({ name: 'pilot_xds_pushes', help: 'Snapshot pushes to sidecars, by type (snapshot: sent; snapshot_toolarge: not sent, over the size a sidecar accepts)', labelNames: ['type'], registers: [r] });
    this.#rejects = new Counter({ name: 'pilot_total_xds_rejects', help: 'Snapshots sidecars refused (NACK)', labelNames: ['type'], registers: [r] });
    this.#convergence = new Histogram({ name: 'pilot_proxy_convergence_time', help: 'Seconds from a configuration or registry change to the ACK of the snapshot carrying it, per sidecar', buckets: CONVERGENCE_BUCKETS, registers: [r] });
    this.#csrs = new Counter({ name: 'citadel_server_csr_count', help: 'Certificate signing requests received', registers: [r] });
    this.#issued = new Counter({ name: 'citadel_server_success_cert_issuance_count', help: 'Certificates issued', registers: [r] });
    new Gauge({ name: 'pilot_xds', help: 'Sidecars connected to the discovery stream', registers: [r], collect() { this.set(figures.connectedProxies()); } });
    new Gauge({ name: 'citadel_server_root_cert_expiry_timestamp', help: 'Not-after of the root certificate, seconds since the epoch', registers: [r], collect() { this.set(Math.floor(figures.rootNotAfter() / 1000)); } });
    new Gauge({ name: 'istio_build', help: 'Istio component build info', labelNames: ['component', 'tag'], registers: [r] }).set({ component: 'pilot', tag: WEFT_VERSION }, 1);
    new Gauge({
      name: 'weft_config_resources',
      help: 'Resources in the configuration store, by kind',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(figures.resourcesByKind())) this.set({ kind }, n);
      },
    });
    const sizes = () => figures.registry();
    new Gauge({ name: 'pilot_services', help: 'Services known to the registry', registers: [r], collect() { this.set(sizes().services); } });
    new Gauge({ name: 'weft_registry_workloads', help: 'Workloads registered (one per sidecar registration)', registers: [r], collect() { this.set(sizes().workloads); } });
    new Gauge({ name: 'weft_registry_services', help: 'Services known to the registry', registers: [r], collect() { this.set(sizes().services); } });
    new Gauge({ name: 'weft_registry_endpoints', help: 'Endpoints: one per workload and service it serves', registers: [r], collect() { this.set(sizes().endpoints); } });
    this.exposition = new PrometheusExposition([r]);
  }

  pushed(type: 'snapshot' | 'snapshot_toolarge'): void {
    this.#pushes.inc({ type });
  }

  rejected(): void {
    this.#rejects.inc({ type: 'snapshot' });
  }

  /** A sidecar ACKed the snapshot carrying a change made `ms` ago. */
  converged(ms: number): void {
    this.#convergence.observe(Math.max(0, ms) / 1000);
  }

  csrReceived(): void {
    this.#csrs.inc();
  }

  certIssued(): void {
    this.#issued.inc();
  }
}

export interface MetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics in plain HTTP, without credentials (as istiod's monitoring port 15014):
 * bind it to loopback, or restrict the port by firewall. Connections are capped and must send
 * their request head within the handshake timeout; at most two scrapes render at once (more are answered 503).
 */
export async function listenMetrics(host: string, port: number, metrics: ControlPlaneMetrics, opts: { limits?: ConnectionLimits; log?: (event: string, fields: Record<string, unknown>) => void } = {}): Promise<MetricsListener> {
  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics port serves /metrics only\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    metrics.exposition.serve(res, req.method === 'HEAD');
  });
  const guard = new ConnectionGuard('control-plane-metrics', opts.limits ?? DEFAULT_CONNECTION_LIMITS, { count: () => undefined, log: (_level, event, fields) => opts.log?.(event, fields) }, systemClock);
  guard.attach(server);
  server.on('connection', (socket: Socket) => guard.arm(socket));
  server.on('request', (req: IncomingMessage) => guard.settle(req.socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
