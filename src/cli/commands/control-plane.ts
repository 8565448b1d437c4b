import { join } from 'node:path';
import type { Command } from 'commander';
import { countOption, DEFAULT_DATA_DIR, durationOption, hostPortOption, type HostPort } from '../output.js';
import { parseDuration } from '../../lib/duration.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../lib/connection-guard.js';
import { DEFAULT_UNAUTHENTICATED_LIMITS } from '../../controlplane/grpc-front.js';

import { MAX_SNAPSHOT_BYTES } from '../../api/limits.js';
import { DEFAULT_REGISTRY_LIMITS } from '../../registry/index.js';

interface ControlPlaneFlags {
  dataDir: string;
  listen: HostPort;
  admin: HostPort;
  metrics?: HostPort;
  trustDomain?: string;
  lease: number;
  maxConnections: number;
  handshakeTimeout?: number;
  maxUnauthenticatedConnections: number;
  unauthenticatedLifetime?: number;
  maxRegistrationsPerIdentity: number;
  maxEndpointBytesPerIdentity: number;
  maxSnapshotSize: number;
}

/** `weft control-plane`: the CA, join-token checks and the service registry, serving sidecars. */
export function registerControlPlaneCommand(program: Command): void {
  program
    .command('control-plane')
    .description('run the control plane: CA, join tokens and service registry, served to sidecars over gRPC on TLS')
    .option('--data-dir <dir>', 'data directory (CA, tokens, audit log)', DEFAULT_DATA_DIR)
    .option('--listen <host:port>', 'gRPC address for sidecars', hostPortOption, { host: '127.0.0.1', port: 15012 })
    .option('--admin <host:port>', 'admin address: health and readiness (HTTP), admin API (TLS)', hostPortOption, { host: '127.0.0.1', port: 15000 })
    .option('--metrics <host:port>', "Prometheus metrics at http://HOST:PORT/metrics, plain HTTP without credentials (Istio's monitoring port is 15014): keep it on loopback", hostPortOption)
    .option('--trust-domain <name>', 'trust domain of a CA created on first start (an existing CA keeps its own)')
    .option('--lease <duration>', 'how long a registration lives without a keep-alive', durationOption, parseDuration('15s'))
    .option('--max-connections <n>', 'concurrent connections per listener (gRPC, admin); past it new ones are closed at once', countOption(), DEFAULT_CONNECTION_LIMITS.maxConnections)
    .option('--handshake-timeout <duration>', 'a connection that has not finished its TLS handshake or sent its first request head by then is closed (default: 10s)', durationOption)
    .option('--max-unauthenticated-connections <n>', 'gRPC connections without a client certificate (first contact) open at once', countOption(), DEFAULT_UNAUTHENTICATED_LIMITS.maxConnections)
    .option('--unauthenticated-lifetime <duration>', 'a gRPC connection without a client certificate is closed after this long (default: 30s)', durationOption)
    .option('--max-registrations-per-identity <n>', 'registrations (replicas) one workload identity may hold at once', countOption(), DEFAULT_REGISTRY_LIMITS.maxRegistrationsPerIdentity)
    .option('--max-endpoint-bytes-per-identity <bytes>', "bytes one identity's registrations may add to every other workload's snapshot", countOption({ min: 1024 }), DEFAULT_REGISTRY_LIMITS.maxBytesPerIdentity)
    .option('--max-snapshot-size <bytes>', `largest snapshot sent; a larger one fails for its workload alone (at most ${MAX_SNAPSHOT_BYTES}, what a sidecar accepts)`, countOption({ min: 1024, max: MAX_SNAPSHOT_BYTES }), MAX_SNAPSHOT_BYTES)
    .addHelpText(
      'after',
      '\nHealth: GET /healthz on the admin address; readiness: GET /healthz/ready (plain HTTP).\nThe admin API on the same address is TLS only; DIR/admin.conf (0600) holds its address, the CA\nfingerprint and the admin token, for `weft apply/get/delete/analyze/status --config DIR/admin.conf`.\nStops cleanly on SIGTERM or SIGINT.',
    )
    .action(async (opts: ControlPlaneFlags) => {
      // Loaded here, not at start-up: every other weft command is spared the control plane's modules.
      const [{ ControlPlane }, { createLogger }] = await Promise.all([import('../../controlplane/server.js'), import('../../telemetry/logger.js')]);
      const logger = createLogger('control-plane');
      const cp = new ControlPlane({
        dataDir: opts.dataDir,
        listen: opts.listen,
        admin: opts.admin,
        metrics: opts.metrics,
        trustDomain: opts.trustDomain,
        leaseMs: opts.lease,
        limits: { maxConnections: opts.maxConnections, handshakeTimeoutMs: opts.handshakeTimeout ?? DEFAULT_CONNECTION_LIMITS.handshakeTimeoutMs },
        unauthenticated: { maxConnections: opts.maxUnauthenticatedConnections, lifetimeMs: opts.unauthenticatedLifetime ?? DEFAULT_UNAUTHENTICATED_LIMITS.lifetimeMs },
        registryLimits: { maxRegistrationsPerIdentity: opts.maxRegistrationsPerIdentity, maxBytesPerIdentity: opts.maxEndpointBytesPerIdentity },
        maxSnapshotBytes: opts.maxSnapshotSize,
        log: (event, fields) => logger.log(/(refused|failed|too_large|pending)$/.test(event) ? 'warn' : 'info', event, fields),
      });
      await cp.start();
      logger.log('info', 'control_plane.started', {
        trustDomain: cp.ca.trustDomain,
        rootFingerprint: cp.ca.rootFingerprint,
        grpc: `${opts.listen.host}:${cp.port}`,
        admin: `${opts.admin.host}:${cp.adminPort}`,
        ...(opts.metrics === undefined ? {} : { metrics: `${opts.metrics.host}:${cp.metricsPort}` }),
      });
      process.stdout.write(`control plane ready: grpc ${opts.listen.host}:${cp.port}, admin ${opts.admin.host}:${cp.adminPort} (admin config ${join(opts.dataDir, 'admin.conf')}), trust domain ${cp.ca.trustDomain}${opts.metrics === undefined ? '' : `, metrics http://${opts.metrics.host.includes(':') ? `[${opts.metrics.host}]` : opts.metrics.host}:${cp.metricsPort}/metrics`}\n`);
      await waitForSignal();
      logger.log('info', 'control_plane.stopping', {});
      await cp.stop();
    });
}

/** Resolves on the first SIGTERM or SIGINT. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
