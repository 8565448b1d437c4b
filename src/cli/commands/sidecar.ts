import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatMode, readJoinTokenFile } from '../../attest/index.js';
import { isWeftError } from '../../lib/errors.js';
import { parseDuration } from '../../lib/duration.js';
import { waitForSignal } from './control-plane.js';
import { countOption, durationOption, hostPortOption, UsageError, type HostPort } from '../output.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../lib/connection-guard.js';
import { appProxyEnv, formatEnv } from '../app-env.js';
import { appHealthFlag, appHealthSettings, appProtocolFlag, localityFlag, portFlag, workloadPorts, type WorkloadFlags } from './sidecar-workload.js';

interface SidecarFlags extends WorkloadFlags {
  locality?: string;
  controlPlane: HostPort;
  tokenFile?: string;
  tokenEnv?: string;
  namespace: string;
  service: string;
  servicePort?: number;
  inbound: HostPort;
  app: HostPort;
  outbound?: HostPort;
  admin?: HostPort;
  labels: Record<string, string>;
  advertise?: string;
  svidTtl?: number;
  stateDir?: string;
  maxConnections: number;
  handshakeTimeout?: number;
  maxStreamsPerSession: number;
  maxSessionsPerPeer: number;
  keepaliveInterval?: number;
  waitForControlPlane: number;
  printEnv?: boolean;
  maxMetricSeries: number;
}

/** `weft sidecar`: one workload's proxy and agent. */
export function registerSidecarCommand(program: Command): void {
  program
    .command('sidecar')
    .description('run the sidecar of one workload: gets its SVID with a join token, registers it, and proxies its traffic over mutual TLS')
    .requiredOption('--control-plane <host:port>', 'gRPC address of the control plane', hostPortOption)
    .option('--token-file <file>', 'file holding the join token (from `weft token create --out`); warns unless its mode is 0600 or stricter')
    .option('--token-env <var>', 'environment variable holding the join token')
    .requiredOption('--namespace <ns>', 'namespace of the workload (must match the token)')
    .requiredOption('--service <name>', 'service the workload serves (its identity must be the service\'s: sa/<name>)')
    .option('--service-port <port>', 'shorthand for --port http:PORT: the one port callers use in Host: <service>.<namespace>:<port> (default: the app port)', portOption)
    .option('--port <name:port[:target]>', 'a service port, repeatable: callers name PORT in Host: <service>.<namespace>:PORT, the app listens on TARGET (default: the --app port); NAME\'s prefix selects the protocol as Istio does (http, http2, https, grpc, grpc-web, tcp, tls, mongo, mysql, redis; anything else: sniffed)', portFlag)
    .option('--app-protocol <name=proto>', 'Kubernetes appProtocol of the port NAME, repeatable; wins over the name in protocol selection (e.g. web=http2, api=grpc, ws=kubernetes.io/ws)', appProtocolFlag)
    .option('--locality <region/zone/subzone>', 'where the workload runs, carried on its endpoint to every caller (any part may be empty)', localityFlag)
    .option('--app-health <check>', 'how the app\'s health is probed: http:/PATH (200-399 is healthy), tcp (a connection opens) or none; while it fails the sidecar is not ready and callers send it nothing (default: tcp)', appHealthFlag)
    .option('--app-health-interval <duration>', 'time between two health probes (Kubernetes periodSeconds; default: 10s)', durationOption)
    .option('--app-health-timeout <duration>', 'a probe that takes longer has failed (Kubernetes timeoutSeconds; default: 1s)', durationOption)
    .option('--app-health-success-threshold <n>', 'successes in a row that make an unhealthy app healthy (default: 1)', countOption({ max: 100 }))
    .option('--app-health-failure-threshold <n>', 'failures in a row that make a healthy app unhealthy (default: 3)', countOption({ max: 100 }))
    .requiredOption('--inbound <host:port>', 'mTLS listener other sidecars call', hostPortOption)
    .requiredOption('--app <host:port>', 'the local application', hostPortOption)
    .option('--outbound <host:port>', 'HTTP proxy for the application\'s outgoing calls (CONNECT SERVICE.NAMESPACE:PORT for TCP)', hostPortOption)
    .option('--admin <host:port>', 'admin endpoint: /healthz/ready, /certs, /stats', hostPortOption)
    .option('--labels <k=v,...>', 'labels of the workload', labelsOption, {})
    .option('--advertise <address>', 'address other sidecars reach the inbound listener on')
    .option('--state-dir <dir>', 'keep the SVID (key 0600) and the last accepted snapshot here, to restart while the control plane is down')
    .option('--wait-for-control-plane <duration>', 'at first start, how long to keep retrying a control plane that is not reachable yet, with backoff (0: try once); a refused token is never retried', waitOption, parseDuration('3m'))
    .option('--svid-ttl <duration>', 'requested SVID lifetime, e.g. 1h (default: MeshConfig\'s certificate TTL, else the CA\'s)', svidTtlOption)
    .option('--max-connections <n>', 'concurrent connections per listener (inbound, outbound, admin); past it new ones are closed at once', countOption(), DEFAULT_CONNECTION_LIMITS.maxConnections)
    .option('--handshake-timeout <duration>', 'a connection that has not finished its TLS handshake or sent its first request head by then is closed (default: 10s)', durationOption)
    .option('--max-streams-per-session <n>', 'requests and tunnels a peer sidecar may run at once on one inbound session', countOption({ max: 2 ** 31 - 1 }), 1000)
    .option('--max-sessions-per-peer <n>', 'sessions opened to one peer sidecar when each is full of streams; past it requests get 503', countOption({ max: 1024 }), 8)
    .option('--keepalive-interval <duration>', 'a mesh session idle this long is sent a PING, and closed when the answer takes as long again (default: 10s)', durationOption)
    .option('--print-env', 'print the environment the app behind this sidecar should get (HTTP_PROXY, HTTPS_PROXY, grpc_proxy, NO_PROXY) and exit; only --outbound is needed')
    .on('option:print-env', function (this: Command) {
      // The environment depends on --outbound alone: the flags for a running sidecar are not needed.
      for (const option of this.options) option.mandatory = false;
    })
    .addHelpText('after', '\nSIGTERM drains: leaves the registry, lets in-flight requests finish, then exits 0.\nThe app reaches other services through --outbound: start it with the environment --print-env prints\n(docs/app-integration.md shows what each language needs).')
    .option('--max-metric-series <n>', "distinct series per Istio metric at /stats/prometheus; past it new series are dropped and counted in weft_metric_series_dropped_total", countOption(), 10_000)
    .action(async (flags: SidecarFlags) => {
      if (flags.printEnv) {
        if (flags.outbound === undefined) throw new UsageError('--print-env needs --outbound HOST:PORT, the proxy the app calls through');
        process.stdout.write(formatEnv(appProxyEnv(flags.outbound)));
        return;
      }
      const ports = workloadPorts(flags, flags.app.port);
      const appHealth = appHealthSettings(flags);
      const { token, exposedMode } = readToken(flags);
      // Loaded here, not at start-up: every other weft command is spared the proxy's modules.
      const [{ Sidecar }, { createLogger }] = await Promise.all([import('../../sidecar/index.js'), import('../../telemetry/logger.js')]);
      const logger = createLogger('sidecar');
      if (exposedMode !== undefined) {
        logger.log('warn', 'sidecar.token_file.exposed', { file: flags.tokenFile, mode: formatMode(exposedMode), reason: 'the join token file is accessible by group or others: chmod 600 it' });
      }
      const sidecar = new Sidecar({
        controlPlane: flags.controlPlane,
        token,
        namespace: flags.namespace,
        service: flags.service,
        servicePort: flags.servicePort ?? flags.app.port,
        ports,
        locality: flags.locality,
        appHealth,
        labels: flags.labels,
        inbound: flags.inbound,
        app: flags.app,
        outbound: flags.outbound,
        admin: flags.admin,
        advertise: flags.advertise,
        ttlSeconds: flags.svidTtl === undefined ? undefined : Math.ceil(flags.svidTtl / 1000),
        stateDir: flags.stateDir,
        maxMetricSeries: flags.maxMetricSeries,
        limits: { maxConnections: flags.maxConnections, handshakeTimeoutMs: flags.handshakeTimeout ?? DEFAULT_CONNECTION_LIMITS.handshakeTimeoutMs },
        maxStreamsPerSession: flags.maxStreamsPerSession,
        maxSessionsPerPeer: flags.maxSessionsPerPeer,
        keepaliveIntervalMs: flags.keepaliveInterval,
        firstContactWaitMs: flags.waitForControlPlane,
        logger,
        redactor: logger.redactor,
      });
      if (sidecar.agent.spiffeId.split('/ns/')[1]?.split('/')[0] !== flags.namespace) {
        throw new UsageError(`--namespace ${flags.namespace} does not match the join token's identity ${sidecar.agent.spiffeId}`);
      }
      const signal = waitForSignal();
      await Promise.race([sidecar.start(), signal.then(() => undefined)]);
      process.stdout.write(`sidecar ready: ${sidecar.agent.spiffeId} inbound ${flags.inbound.host}:${sidecar.ports.inbound}${sidecar.ports.outbound ? ` outbound 127.0.0.1:${sidecar.ports.outbound}` : ''}\n`);
      await signal;
      await sidecar.drain();
    });
}

function readToken(flags: SidecarFlags): { token: string; exposedMode?: number } {
  if ((flags.tokenFile === undefined) === (flags.tokenEnv === undefined)) {
    throw new UsageError('give exactly one of --token-file FILE or --token-env VAR');
  }
  if (flags.tokenFile !== undefined) return readJoinTokenFile(flags.tokenFile);
  const value = process.env[flags.tokenEnv!];
  if (!value) throw new UsageError(`environment variable ${flags.tokenEnv} is empty or not set`);
  return { token: value.trim() };
}

function portLike(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive number of ${what}`);
  return n;
}

function portOption(value: string): number {
  const n = portLike(value, 'a port');
  if (n > 65535) throw new InvalidArgumentError(`"${value}" is not a port`);
  return n;
}

/** A duration; a bare number is still read as seconds, the unit this flag once took. */
function svidTtlOption(value: string): number {
  return /^\d+$/.test(value) ? portLike(value, 'seconds') * 1000 : durationOption(value);
}

function waitOption(value: string): number {
  try {
    return parseDuration(value === '0' ? '0s' : value);
  } catch (err) {
    if (isWeftError(err)) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

function labelsOption(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of value.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${pair}" is not key=value`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
