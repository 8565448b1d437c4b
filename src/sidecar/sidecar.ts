import type { Server } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { SidecarAgent, type WorkloadSvid } from '../agent/index.js';
import { SidecarProxy, type SidecarIdentity } from '../proxy/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { Redactor } from '../telemetry/redact.js';
import type { MeshSnapshot } from '../api/control-plane-api.js';
import { tokenLocationNames } from '../config/index.js';
import { emptyConfig, prepareConfig, type PreparedConfig, type WorkloadIdentity } from './active-config.js';
import { JwksResolver } from '../proxy/jwks/index.js';
import { ExtAuthz } from '../proxy/index.js';
import { systemClock } from '../lib/clock.js';
import type { ConnectionLimits } from '../lib/connection-guard.js';
import { selectProtocol } from '../registry/index.js';
import { startAdmin } from './admin.js';
import { AppHealth, DEFAULT_APP_HEALTH, type AppHealthSettings } from './app-health.js';
import { configDump } from './config-dump.js';
import type { ServiceMessage } from '../api/control-plane-api.js';
import { IstioMetrics } from '../telemetry/metrics/index.js';
import { WEFT_VERSION } from '../lib/version.js';
import { SnapshotDirectory } from './snapshot-directory.js';
import { TrafficCompiler, trafficStats } from './traffic-config.js';
import type { TrafficConfig } from '../proxy/index.js';
import { SidecarStateDir } from './state-dir.js';

export interface HostPort {
  host: string;
  port: number;
}

/** A service port of the workload (Kubernetes ServicePort): callers name `port`, the app listens on `targetPort`. */
export interface WorkloadPort {
  name: string;
  port: number;
  /** Default: the `app` port. */
  targetPort?: number;
  appProtocol?: string;
}

export interface SidecarOptions {
  controlPlane: HostPort;
  token: string;
  namespace: string;
  service: string;
  /** The port callers name in Host: service.namespace:PORT; shorthand for `ports: [{ name: 'http', port }]`. */
  servicePort?: number;
  /** The service's ports; default: `servicePort` (else the app port) as `http`. */
  ports?: readonly WorkloadPort[];
  /** `region/zone/subzone` of the workload; '' when unknown. */
  locality?: string;
  /** How the app's health is probed; default: a TCP connect every 10 s (Kubernetes' readiness defaults). */
  appHealth?: AppHealthSettings;
  labels: Record<string, string>;
  inbound: HostPort;
  app: HostPort;
  outbound?: HostPort;
  admin?: HostPort;
  /** Address other sidecars reach the inbound listener on (default: the inbound host, or 127.0.0.1 for a wildcard). */
  advertise?: string;
  ttlSeconds?: number;
  /** After deregistering on SIGTERM, how long to keep serving while callers learn the change. */
  drainDelayMs?: number;
  /** Bound on the wait for in-flight requests when draining. */
  drainTimeoutMs?: number;
  /** Keeps the SVID and the last accepted snapshot here, to restart without the control plane. */
  stateDir?: string;
  /** Cap and handshake deadline of each listener: inbound, outbound and admin. */
  limits?: ConnectionLimits;
  /** Streams a peer may open at once on one inbound session. */
  maxStreamsPerSession?: number;
  /** Sessions kept to one peer endpoint when each is full of streams. */
  maxSessionsPerPeer?: number;
  /** Idle time before a mesh session is sent a PING, and how long its answer may take. */
  keepaliveIntervalMs?: number;
  /** How long first contact retries a control plane that is not reachable yet (default 3 min). */
  firstContactWaitMs?: number;
  logger: Logger;
  /** The logger's redaction step: learns the token locations of every snapshot put in force. */
  redactor?: Redactor;
  /** Distinct series per Istio metric (default 10,000); past it new series are dropped and counted. */
  maxMetricSeries?: number;
}

function toIdentity(svid: WorkloadSvid): SidecarIdentity {
  return { spiffeId: svid.spiffeId, trustDomain: svid.trustDomain, keyPem: svid.keyPem, certChainPem: svid.certChainPem, bundlePem: svid.bundlePem };
}

/**
 * One workload's sidecar: the agent (identity, registration, discovery) driving the proxy
 * (inbound mTLS, outbound routing), with an admin endpoint on loopback.
 */
export class Sidecar {
  readonly #opts: SidecarOptions;
  readonly agent: SidecarAgent;
  readonly directory = new SnapshotDirectory();
  /** The configuration in force (the last snapshot accepted). */
  config: PreparedConfig;
  readonly #state: SidecarStateDir | undefined;
  readonly #trafficCompiler: TrafficCompiler;
  /** VirtualServices and DestinationRules of the last accepted snapshot, compiled for this workload. */
  traffic: TrafficConfig | undefined;
  #hasSnapshot = false;
  readonly #jwks: JwksResolver;
  readonly #extAuthz: ExtAuthz;
  #configSource: 'none' | 'control-plane' | 'disk' = 'none';
  #lastNack: { version: number; reason: string } | undefined;
  #proxy: SidecarProxy | undefined;
  /** The revoked serials of the last accepted snapshot, for a proxy started after it. */
  #revoked: readonly string[] = [];
  #admin: Server | undefined;
  #draining = false;
  readonly #ports: readonly { name: string; port: number; targetPort: number; appProtocol: string; protocol: string }[];
  readonly health: AppHealth;
  /** The services of the last accepted snapshot, for `weft proxy-config`. */
  #services: readonly ServiceMessage[] = [];
  /** Istio's request and TCP metrics of this sidecar, served at /stats/prometheus. */
  readonly metrics: IstioMetrics;
  ports: { inbound: number; outbound?: number; admin?: number } = { inbound: 0 };

  constructor(opts: SidecarOptions) {
    this.#opts = opts;
    const declared = opts.ports !== undefined && opts.ports.length > 0 ? opts.ports : [{ name: 'http', port: opts.servicePort ?? opts.app.port }];
    this.#ports = declared.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? opts.app.port, appProtocol: p.appProtocol ?? '', protocol: selectProtocol(p.name, p.port, p.appProtocol ?? '') }));
    // The first port's app is the one probed, and the one PeerAuthentication's port-level mode reads.
    this.health = new AppHealth(opts.appHealth ?? DEFAULT_APP_HEALTH, { host: opts.app.host, port: this.#ports[0]!.targetPort }, (healthy, reason) => {
      opts.logger.log(healthy ? 'info' : 'warn', healthy ? 'app.healthy' : 'app.unhealthy', { reason });
      this.agent.setHealth(healthy);
    });
    this.metrics = new IstioMetrics({ component: 'proxy', version: WEFT_VERSION, ...(opts.maxMetricSeries === undefined ? {} : { maxSeries: opts.maxMetricSeries }) });
    this.#jwks = new JwksResolver({ logger: opts.logger });
    this.#extAuthz = new ExtAuthz({ logger: opts.logger });
    this.config = emptyConfig(this.#workload());
    this.#trafficCompiler = new TrafficCompiler({ namespace: opts.namespace, labels: opts.labels, locality: opts.locality }, opts.logger);
    this.#state = opts.stateDir === undefined ? undefined : new SidecarStateDir(opts.stateDir);
    this.agent = new SidecarAgent({
      controlPlane: opts.controlPlane,
      token: opts.token,
      ttlSeconds: opts.ttlSeconds,
      firstContactWaitMs: opts.firstContactWaitMs,
      log: (level, event, fields) => opts.logger.log(level, event, fields),
      accept: (snapshot) => this.#accept(snapshot, true),
      adminAddress: () => (this.ports.admin === undefined || opts.admin === undefined ? undefined : `${opts.admin.host.includes(':') ? `[${opts.admin.host}]` : opts.admin.host}:${this.ports.admin}`),
    });
  }

  #workload(): WorkloadIdentity {
    return { namespace: this.#opts.namespace, labels: this.#opts.labels, appPort: this.#ports[0]!.targetPort, keys: { resolver: this.#jwks, now: () => systemClock.now() }, extAuthz: this.#extAuthz };
  }

  /** Puts a snapshot in force once it validates; throws (the agent NACKs) when it does not. */
  #accept(snapshot: MeshSnapshot, save: boolean): void {
    let prepared: PreparedConfig;
    let traffic: TrafficConfig;
    try {
      prepared = prepareConfig(snapshot, this.#workload());
      traffic = this.#trafficCompiler.compileSnapshot(snapshot, prepared);
    } catch (err) {
      this.#lastNack = { version: snapshot.version, reason: (err as Error).message };
      throw err;
    }
    this.#opts.redactor?.add(tokenLocationNames(prepared.resources));
    this.#opts.redactor?.add({ params: snapshot.tokenParams ?? [], cookies: snapshot.tokenCookies ?? [], headers: snapshot.tokenHeaders ?? [] });
    this.directory.update(snapshot);
    this.#services = snapshot.services;
    this.config = prepared;
    this.traffic = traffic;
    this.#revoked = snapshot.revokedSerials ?? [];
    this.#proxy?.updateRevocations(this.#revoked);
    // Keys of the rules now in force are fetched ahead of the first request; others are dropped.
    const sources = prepared.inbound.jwt?.authn.keySources ?? [];
    this.#jwks.retain(sources);
    void this.#jwks.prefetch(sources);
    this.#hasSnapshot = true;
    this.#configSource = save ? 'control-plane' : 'disk';
    if (save) this.#state?.saveSnapshot(snapshot);
    this.#opts.logger.log('info', 'snapshot.accepted', { version: snapshot.version, resources: prepared.resources.length, services: snapshot.services.length });
  }

  async start(): Promise<void> {
    this.#jwks.start();
    const { logger } = this.#opts;
    const saved = this.#state?.loadSvid();
    const resumed = saved !== undefined && this.agent.resume(saved);
    const svid = resumed ? saved : await this.agent.start();
    logger.log('info', resumed ? 'svid.resumed' : 'svid.issued', { spiffeId: svid.spiffeId, serial: svid.serial, notAfter: svid.notAfter.toISOString() });
    if (this.#state) {
      this.#state.saveSvid(svid);
      this.agent.on('svid', (next: WorkloadSvid) => this.#state!.saveSvid(next));
    }
    const lastGood = resumed ? this.#state?.loadSnapshot() : undefined;
    if (lastGood) {
      try {
        this.#accept(lastGood, false);
        logger.log('info', 'snapshot.restored', { version: lastGood.version, from: this.#state!.dir });
      } catch (err) {
        logger.log('warn', 'snapshot.restore_failed', { reason: (err as Error).message });
      }
    }
    this.#proxy = new SidecarProxy({
      identity: toIdentity(svid),
      directory: this.directory,
      inbound: this.#opts.inbound,
      app: this.#opts.app,
      ports: this.#ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol })),
      outbound: this.#opts.outbound,
      policy: () => this.config.inbound,
      traffic: () => this.traffic,
      outboundTrafficPolicy: () => this.config.mesh.outboundTrafficPolicy.mode,
      limits: this.#opts.limits,
      maxStreamsPerSession: this.#opts.maxStreamsPerSession,
      maxSessionsPerPeer: this.#opts.maxSessionsPerPeer,
      keepaliveIntervalMs: this.#opts.keepaliveIntervalMs,
      logger: { log: (level: 'debug' | 'info' | 'warn' | 'error', event: string, fields?: Record<string, unknown>) => logger.log(level, event, fields) },
    });
    this.#proxy.updateRevocations(this.#revoked);
    const bound = await this.#proxy.start();
    this.ports = { inbound: bound.inboundPort, outbound: bound.outboundPort };
    this.agent.on('svid', (next: WorkloadSvid) => this.#proxy!.updateIdentity(toIdentity(next)));
    if (this.#opts.admin) {
      const admin = await startAdmin(this.#opts.admin.host, this.#opts.admin.port, {
        ready: () => this.#notReady() ?? true,
        certs: () => this.#certs(),
        stats: () => ({ ...this.#proxy!.stats(), ...trafficStats(this.traffic), ...this.#extAuthz.stats() }),
        rotations: () => this.agent.rotations,
        certNotAfter: () => this.agent.svid?.notAfter.getTime(),
        config: () => ({
          version: this.config.version,
          source: this.#configSource,
          resources: this.config.resources.map((r) => `${r.kind}/${r.metadata.namespace === undefined ? '' : `${r.metadata.namespace}/`}${r.metadata.name}@${r.metadata.resourceVersion}`),
          services: this.directory.serviceCount,
          lastNack: this.#lastNack ?? null,
          controlPlaneConnected: this.agent.connected,
          ports: this.#ports,
          locality: this.#opts.locality ?? '',
          app: { healthy: this.health.healthy, reason: this.health.reason },
          extAuthz: this.#extAuthz.providers(),
          workload: { spiffeId: this.agent.svid?.spiffeId ?? null, namespace: this.#opts.namespace, service: this.#opts.service, labels: this.#opts.labels },
          ...this.#dump(),
        }),
        istio: this.metrics,
      }, { logger, limits: this.#opts.limits });
      this.#admin = admin.server;
      this.ports.admin = admin.port;
    }
    // The first probe runs before registering, so a healthy app is never announced unhealthy first.
    await this.health.start();
    const advertise = this.#opts.advertise ?? (['0.0.0.0', '::'].includes(this.#opts.inbound.host) ? '127.0.0.1' : this.#opts.inbound.host);
    const joined = this.agent.join({
      namespace: this.#opts.namespace,
      services: [this.#opts.service],
      ports: this.#ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, targetPort: p.targetPort, appProtocol: p.appProtocol })),
      labels: this.#opts.labels,
      address: advertise,
      inboundPort: this.ports.inbound,
      locality: this.#opts.locality ?? '',
      healthy: this.health.healthy,
    });
    // With a restored snapshot the sidecar serves at once; the agent keeps reconnecting meanwhile.
    if (this.#hasSnapshot) joined.catch((err: Error) => logger.log('error', 'registration.refused', { reason: err.message }));
    else await joined;
    logger.log('info', 'sidecar.ready', { spiffeId: svid.spiffeId, inbound: this.ports.inbound, outbound: this.ports.outbound, services: this.directory.serviceCount });
  }

  /** Why the sidecar is not ready, or undefined when it is. */
  #notReady(): string | undefined {
    if (this.#draining) return 'draining';
    if (this.agent.svid === undefined) return 'no SVID yet';
    if (!this.#hasSnapshot) return 'no configuration snapshot yet';
    if (!this.health.healthy) return `the app is not healthy: ${this.health.reason}`;
    return undefined;
  }

  /**
   * SIGTERM: report the workload unhealthy (callers stop picking it but never see its service
   * vanish), give them a moment to learn it, finish in-flight requests, leave the registry, stop.
   */
  async drain(): Promise<void> {
    this.#jwks.close();
    this.#draining = true;
    this.health.stop();
    const { logger } = this.#opts;
    logger.log('info', 'sidecar.draining', {});
    await this.agent.markDraining();
    await new Promise((r) => setTimeout(r, this.#opts.drainDelayMs ?? 1_000));
    await this.#proxy?.drain(this.#opts.drainTimeoutMs ?? 10_000);
    this.#extAuthz.close();
    await this.agent.stop({ deregister: true });
    await new Promise<void>((resolve) => (this.#admin ? this.#admin.close(() => resolve()) : resolve()));
    logger.log('info', 'sidecar.stopped', {});
  }

  #dump(): ReturnType<typeof configDump> {
    const o = this.#opts;
    return configDump({
      workload: { service: o.service, namespace: o.namespace, servicePort: this.#ports[0]!.port },
      app: o.app,
      ports: this.ports,
      hosts: { inbound: o.inbound.host, outbound: o.outbound?.host, admin: o.admin?.host },
      acceptsPlaintext: this.config.inbound.acceptPlaintext,
      services: this.#services,
    });
  }

  #certs(): unknown {
    const svid = this.agent.svid;
    if (!svid) return { spiffeId: null };
    const chain = svid.certChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    return {
      spiffeId: svid.spiffeId,
      serial: svid.serial,
      notBefore: svid.notBefore.toISOString(),
      notAfter: svid.notAfter.toISOString(),
      rotations: this.agent.rotations,
      chain: chain.map((pem) => {
        const c = new X509Certificate(pem);
        return { subject: c.subject, issuer: c.issuer, serial: c.serialNumber.toLowerCase(), notAfter: c.validTo, subjectAltName: c.subjectAltName, pem };
      }),
      trustBundle: svid.bundlePem,
    };
  }
}
