import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { systemClock } from '../lib/clock.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../lib/connection-guard.js';
import type { Logger } from '../telemetry/logger.js';
import { PrometheusExposition, processMetricsRegistry, registerStats, type IstioMetrics } from '../telemetry/metrics/index.js';

export interface AdminSources {
  /** True, or why the sidecar is not ready. */
  ready(): true | string;
  certs(): unknown;
  stats(): Record<string, number>;
  rotations(): number;
  certNotAfter(): number | undefined;
  /** The configuration in force: snapshot version, resources, NACKs (Envoy's config_dump, in short). */
  config(): unknown;
  /** Istio's request and TCP metrics, served at /stats/prometheus with the process metrics. */
  istio?: IstioMetrics;
}

/**
 * The sidecar's admin endpoint, for 127.0.0.1 only: /healthz/ready, /certs and /config (JSON), /stats
 * (Prometheus text of the sidecar's own counters) and /stats/prometheus (Envoy's path: Istio's
 * metrics, the process metrics and the proxy's counters as weft_proxy_*). Counters are read from
 * the proxy and agent at scrape time, never on the request path.
 */
export function startAdmin(
  host: string,
  port: number,
  sources: AdminSources,
  opts: { logger?: Logger; limits?: ConnectionLimits } = {},
): Promise<{ server: Server; port: number }> {
  const registry = new Registry();
  const own = { admin_connections_refused_total: 0, admin_handshake_timeouts_total: 0, admin_accept_errors_total: 0 };
  const stats = (): Record<string, number> => ({ ...sources.stats(), ...own });
  // One metric per data-path counter: `_total` names are counters, the rest gauges.
  for (const name of Object.keys(stats())) {
    const read = () => stats()[name] ?? 0;
    const help = `weft sidecar proxy: ${name.replace(/_/g, ' ')}`;
    if (name.endsWith('_total')) {
      new Counter({ name: `weft_sidecar_${name}`, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
    } else {
      new Gauge({ name: `weft_sidecar_${name}`, help, registers: [registry], collect() { this.set(read()); } });
    }
  }
  // /stats/prometheus: what a Prometheus scraping Istio's proxies expects, plus weft's counters.
  const prometheus = processMetricsRegistry();
  registerStats(prometheus, 'weft_proxy_', 'weft sidecar proxy', stats);
  const exposition = new PrometheusExposition(sources.istio === undefined ? [prometheus] : [prometheus, sources.istio]);
  new Counter({
    name: 'weft_sidecar_svid_rotations_total',
    help: 'X.509-SVID rotations since the sidecar started',
    registers: [registry, prometheus],
    collect() {
      this.reset();
      this.inc(sources.rotations());
    },
  });
  new Gauge({
    name: 'weft_sidecar_svid_expiration_timestamp_seconds',
    help: 'not-after of the current X.509-SVID, seconds since the epoch',
    registers: [registry, prometheus],
    collect() {
      const t = sources.certNotAfter();
      if (t !== undefined) this.set(t / 1000);
    },
  });
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz/ready') {
      const ready = sources.ready();
      res.writeHead(ready === true ? 200 : 503, { 'content-type': 'text/plain' }).end(ready === true ? 'ready\n' : `not ready: ${ready}\n`);
    } else if (path === '/healthz' || path === '/healthz/live') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/certs') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(sources.certs(), null, 2)}\n`);
    } else if (path === '/config') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(sources.config(), null, 2)}\n`);
    } else if (path === '/stats/prometheus') {
      exposition.serve(res, req.method === 'HEAD');
    } else if (path === '/stats' || path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz/ready, /certs, /config, /stats, /stats/prometheus\n');
    }
  });
  const guard = new ConnectionGuard('sidecar-admin', opts.limits ?? DEFAULT_CONNECTION_LIMITS, {
    count: (event) => void (event === 'refused' ? own.admin_connections_refused_total++ : event === 'timeout' ? own.admin_handshake_timeouts_total++ : own.admin_accept_errors_total++),
    log: (level, event, fields) => opts.logger?.log(level, event, fields),
  }, systemClock);
  guard.attach(server);
  server.on('connection', (socket: Socket) => guard.arm(socket));
  server.on('request', (req: IncomingMessage) => guard.settle(req.socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}
