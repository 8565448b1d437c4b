import { join } from 'node:path';
import {
  Metadata,
  Server,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { decodeJoinToken, JoinTokenStore, refuseReservedIdentity } from '../attest/index.js';
import { CaError, CertificateAuthority, type CaCredential } from '../ca/index.js';
import { parseCertificatesPem, verifyX509Svid, bundleFromPem } from '../identity/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { describeError, isWeftError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import { ServiceRegistry, type RegistryLimits, type ServiceProtocol } from '../registry/index.js';
import {
  DiscoveryService,
  IdentityService,
  RegistryService,
  type DeregisterRequest,
  type KeepAliveRequest,
  type KeepAliveResponse,
  type MeshSnapshot,
  type RegisterRequest,
  type RegisterResponse,
  type SignCertificateRequest,
  type SignCertificateResponse,
  type SubscribeRequest,
} from '../api/control-plane-api.js';
import { analyze, defaultMeshConfigSpec, DirectoryConfigStore, key, type ConfigStore, type Finding, type MeshConfig, type StoredResource } from '../config/index.js';
import type { ResourceSource } from './admin/routes.js';
import { parseSources } from './admin/service.js';
import { AdminError, startAdminApi } from './admin/index.js';
import { authzCheck, parseAuthzCheck } from './admin/authz-check.js';
import type { AdminListener } from './admin/listener.js';
import { SnapshotPublisher, type SubscriberStatus } from './discovery/publisher.js';
import { SnapshotBuilder } from './discovery/snapshot-builder.js';
import { RegistryFile } from './registry-file.js';
import { ServingIdentity } from './serving-identity.js';
import { revokeSvids, type RevokeResult, type RevokeTarget } from './revoke-svids.js';
import type { ConnectionLimits } from '../lib/connection-guard.js';
import { endCall, GrpcFront, type UnauthenticatedLimits } from './grpc-front.js';
import { ControlPlaneMetrics, listenMetrics, type MetricsListener } from './metrics.js';
import { ADMIN_ADDRESS_METADATA } from '../api/subscribe-metadata.js';

export interface ControlPlaneOptions {
  dataDir: string;
  /** Where sidecars reach the gRPC API; port 0 picks a free one. */
  listen: { host: string; port: number };
  /**
   * The admin address: health and readiness over plain HTTP, the admin API over TLS (admin SVID
   * or admin token). admin.conf in the data directory tells the CLI how to reach it.
   */
  admin?: { host: string; port: number };
  /** The metrics address (plain HTTP, /metrics only, no credentials: keep it on loopback). */
  metrics?: { host: string; port: number };
  /** Where the configuration lives; the directory store under <dataDir>/config by default. */
  store?: ConfigStore;
  /** Trust domain of a CA created on first start; an existing CA keeps its own. */
  trustDomain?: string;
  leaseMs?: number;
  /** Cap and handshake deadline of the gRPC and admin listeners (each). */
  limits?: ConnectionLimits;
  /** Bounds of gRPC connections without a verified client certificate (first contact). */
  unauthenticated?: UnauthenticatedLimits;
  /** What one identity may register (count, bytes added to others' snapshots). */
  registryLimits?: Partial<RegistryLimits>;
  /** The largest snapshot sent; a larger one fails for its workload alone. */
  maxSnapshotBytes?: number;
  clock?: Clock;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** What the caller proved: a join token, or its current SVID over mTLS. */
interface Caller {
  spiffeId: string;
  credential: CaCredential;
}

const CODE_BY_ERROR: Record<string, status> = {
  WEFT_TOKEN_MALFORMED: status.UNAUTHENTICATED,
  WEFT_TOKEN_FOREIGN: status.UNAUTHENTICATED,
  WEFT_TOKEN_FORGED: status.UNAUTHENTICATED,
  WEFT_TOKEN_UNKNOWN: status.UNAUTHENTICATED,
  WEFT_TOKEN_EXPIRED: status.UNAUTHENTICATED,
  WEFT_TOKEN_REVOKED: status.UNAUTHENTICATED,
  WEFT_TOKEN_REUSED: status.UNAUTHENTICATED,
  WEFT_REGISTRATION_INVALID: status.INVALID_ARGUMENT,
  WEFT_REGISTRATION_FORBIDDEN: status.PERMISSION_DENIED,
  WEFT_WORKLOAD_NOT_FOUND: status.NOT_FOUND,
  WEFT_TOKEN_RESERVED_IDENTITY: status.PERMISSION_DENIED,
  WEFT_CA_RENEWAL_REFUSED: status.PERMISSION_DENIED,
  WEFT_CA_CERT_REVOKED: status.PERMISSION_DENIED,
  WEFT_REGISTRATION_LIMIT: status.RESOURCE_EXHAUSTED,
  WEFT_REGISTRATION_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  WEFT_REGISTRATION_CONFLICT: status.FAILED_PRECONDITION,
};

/**
 * The control plane: the CA, join-token checks and the service registry behind a gRPC API on TLS.
 * Sidecars sign their first CSR with a join token and every later call with their SVID (mTLS).
 */
export class ControlPlane {
  readonly ca: CertificateAuthority;
  readonly tokens: JoinTokenStore;
  readonly registry: ServiceRegistry;
  readonly #opts: ControlPlaneOptions;
  readonly #clock: Clock;
  // A sidecar needs a handful of streams; an unbounded count would let one connection hold any number.
  // Keepalive PINGs every 30 s: Node never closes an HTTP/2 session it answered a protocol error
  // on, so a connection that stops answering is destroyed 10 s after the PING (see session-liveness.ts in proxy/).
  readonly #grpc = new Server({ 'grpc.max_concurrent_streams': 1000, 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000 });
  #front: GrpcFront | undefined;
  readonly #serving: ServingIdentity;
  readonly #publisher: SnapshotPublisher;
  readonly #builder: SnapshotBuilder;
  #resources: { revision: number; items: readonly StoredResource[] } = { revision: 0, items: [] };
  #admin: AdminListener | undefined;
  readonly metrics: ControlPlaneMetrics;
  #metricsListener: MetricsListener | undefined;
  #store: ConfigStore | undefined;
  readonly #verified = new Map<string, { spiffeId: string; serial: string; notBefore: number; notAfter: number }>();
  #unwatch: (() => void) | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #ready = false;
  readonly #registryFile: RegistryFile;
  port = 0;
  adminPort = 0;
  metricsPort = 0;

  constructor(opts: ControlPlaneOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.ca = opts.trustDomain
      ? CertificateAuthority.init(opts.dataDir, { trustDomain: opts.trustDomain, clock: this.#clock })
      : CertificateAuthority.open(opts.dataDir, { clock: this.#clock });
    this.tokens = JoinTokenStore.open(opts.dataDir, { clock: this.#clock });
    this.registry = new ServiceRegistry({ trustDomain: this.ca.trustDomain, clock: this.#clock, leaseMs: opts.leaseMs, limits: opts.registryLimits });
    this.#serving = new ServingIdentity(this.ca, this.#clock);
    this.#registryFile = new RegistryFile(join(opts.dataDir, 'registry.json'), this.registry, (event, fields) => this.#log(event, fields));
    this.#registryFile.restore();
    this.#builder = new SnapshotBuilder({
      registry: this.registry,
      trustDomain: this.ca.trustDomain,
      trustBundle: () => parseCertificatesPem(this.ca.bundlePem()),
      resources: () => this.#resources,
      revocations: () => ({ version: this.ca.lifecycle.revoked.version, serials: this.ca.lifecycle.revoked.serials() }),
    });
    this.metrics = new ControlPlaneMetrics({
      connectedProxies: () => this.#publisher.connected,
      resourcesByKind: () => countBy(this.#resources.items, (r) => r.kind),
      registry: () => registrySizes(this.registry.workloads()),
      rootNotAfter: () => this.ca.rootNotAfter.getTime(),
    });
    this.#publisher = new SnapshotPublisher({ build: (w) => this.#builder.build(w), clock: this.#clock, log: opts.log, maxSnapshotBytes: opts.maxSnapshotBytes, metrics: this.metrics });
    this.registry.onChange(() => {
      this.#registryFile.saveSoon();
      this.#publisher.changed();
    });
    this.#grpc.addService(IdentityService.service, { signCertificate: this.#signCertificate.bind(this) });
    this.#grpc.addService(RegistryService.service, {
      register: this.#register.bind(this),
      keepAlive: this.#keepAlive.bind(this),
      deregister: this.#deregister.bind(this),
    });
    this.#grpc.addService(DiscoveryService.service, { subscribe: this.#subscribe.bind(this) });
  }

  /** Binds the gRPC and admin listeners; resolves once both accept connections. */
  async start(): Promise<void> {
    const tlsCredentials = () => ({ ...this.#serving.credentials, ca: this.ca.bundlePem() });
    this.#front = await GrpcFront.listen(this.#grpc, { ...this.#opts.listen, credentials: tlsCredentials(), limits: this.#opts.limits, unauthenticated: this.#opts.unauthenticated, clock: this.#clock, log: (e, f) => this.#log(e, f) });
    this.#serving.onRenew(() => this.#front?.setCredentials(tlsCredentials()));
    this.port = this.#front.port;
    await this.#openStore();
    if (this.#opts.admin) await this.#startAdmin(this.#opts.admin);
    if (this.#opts.metrics) {
      this.#metricsListener = await listenMetrics(this.#opts.metrics.host, this.#opts.metrics.port, this.metrics, { limits: this.#opts.limits, log: (e, f) => this.#log(e, f) });
      this.metricsPort = this.#metricsListener.port;
    }
    const leaseMs = this.registry.leaseMs;
    this.#expiry = setInterval(() => this.registry.expire(), Math.max(100, Math.floor(leaseMs / 4))).unref();
    this.#ready = true;
  }

  async stop(): Promise<void> {
    this.#ready = false;
    clearInterval(this.#expiry);
    this.#registryFile.flush();
    this.#registryFile.close();
    this.#serving.stop();
    this.#publisher.close();
    await new Promise<void>((resolve) => this.#grpc.tryShutdown(() => resolve()));
    await this.#front?.close();
    await this.#admin?.close();
    await this.#metricsListener?.close();
    this.#unwatch?.();
    await this.#store?.close();
  }

  /** Replaces the configuration every snapshot is computed from; sidecars it concerns get a push. */
  setResources(revision: number, items: readonly StoredResource[]): void {
    this.#resources = { revision, items };
    this.#publisher.changed();
  }

  /** Every subscribed sidecar with the state of its snapshot (`weft status`). */
  /** Each connected sidecar's status with the services its workload registered (for `weft status`). */
  #sidecarStatus(): (SubscriberStatus & { services: readonly string[] })[] {
    return this.#publisher.status().map((s) => ({ ...s, services: this.registry.workload(s.workloadId)?.services ?? [] }));
  }

  subscribers(): SubscriberStatus[] {
    return this.#publisher.status();
  }

  /**
   * `weft ca revoke`: the serials join the revocation list every snapshot carries (sidecars refuse
   * them and close their sessions), the CA stops renewing them, the join tokens of their lineages
   * are revoked, and an identity revoked as a whole leaves the registry at once.
   */
  revoke(target: RevokeTarget, by: string): RevokeResult {
    const result = revokeSvids(this.ca, this.tokens, target, by);
    if (target.spiffeId !== undefined) {
      for (const w of this.registry.workloads()) if (w.spiffeId === target.spiffeId) this.registry.deregister(w.id, w.spiffeId);
    }
    this.#log('svid.revoked', { serials: result.revoked.map((r) => r.serial), spiffeId: target.spiffeId, tokens: result.tokensRevoked, by });
    this.#publisher.changed();
    return result;
  }

  /** The version the next computed snapshot carries. */
  get snapshotVersion(): number {
    return this.#publisher.version;
  }

  // === identity ===

  #signCertificate(call: ServerUnaryCall<SignCertificateRequest, SignCertificateResponse>, callback: sendUnaryData<SignCertificateResponse>): void {
    this.metrics.csrReceived();
    try {
      const { csr, joinToken, ttlSeconds } = call.request;
      let caller: Caller;
      if (joinToken.length > 0) {
        // Checked on the claim before the token is verified (and a --once token spent).
        refuseReservedIdentity(decodeJoinToken(joinToken).spiffeId, this.ca.trustDomain, this.#adminIdentities());
        const proven = this.tokens.verify(joinToken, { trustDomain: this.ca.trustDomain, caFingerprint: this.ca.rootFingerprint });
        caller = { spiffeId: proven.spiffeId, credential: { kind: 'join-token', tokenId: proven.tokenId } };
      } else {
        // A revoked SVID is let through to the CA here, which refuses its renewal and audits it.
        caller = this.#authenticate(call, true);
      }
      const issued = this.ca.issue(csr, {
        credential: caller.credential,
        expectedSpiffeId: caller.spiffeId,
        ttlMs: ttlSeconds > 0 ? ttlSeconds * 1000 : this.#meshCertificateTtlMs(),
      });
      this.metrics.certIssued();
      this.#log('svid.issued', { spiffeId: issued.spiffeId, serial: issued.serial, via: caller.credential.kind });
      callback(null, {
        spiffeId: issued.spiffeId,
        certChain: [issued.leafDer, ...issued.chainPem.flatMap((p) => parseCertificatesPem(p))].map((d) => Buffer.from(d)),
        trustBundle: parseCertificatesPem(issued.bundlePem),
        serial: issued.serial,
        notBefore: Math.floor(issued.notBefore.getTime() / 1000),
        notAfter: Math.floor(issued.notAfter.getTime() / 1000),
      });
    } catch (err) {
      this.#fail(callback, err, status.INVALID_ARGUMENT, 'svid.refused');
    }
  }

  // === registry ===

  #register(call: ServerUnaryCall<RegisterRequest, RegisterResponse>, callback: sendUnaryData<RegisterResponse>): void {
    try {
      const caller = this.#authenticate(call);
      const r = call.request;
      const w = this.registry.register(
        {
          namespace: r.namespace,
          services: r.services,
          ports: r.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol as ServiceProtocol, targetPort: p.targetPort, appProtocol: p.appProtocol })),
          labels: r.labels,
          address: r.address,
          inboundPort: r.inboundPort,
          locality: r.locality,
          healthy: r.healthy ?? true,
        },
        caller.spiffeId,
      );
      this.#log('workload.registered', { workloadId: w.id, spiffeId: w.spiffeId, services: w.services, address: `${w.address}:${w.inboundPort}`, ports: w.ports.map((p) => `${p.name}:${p.port}`), locality: w.locality, healthy: w.healthy });
      callback(null, { workloadId: w.id, leaseSeconds: Math.ceil(this.registry.leaseMs / 1000) });
    } catch (err) {
      this.#fail(callback, err, status.INVALID_ARGUMENT, 'workload.refused');
    }
  }

  #keepAlive(call: ServerUnaryCall<KeepAliveRequest, KeepAliveResponse>, callback: sendUnaryData<KeepAliveResponse>): void {
    try {
      const caller = this.#authenticate(call);
      const before = this.registry.workload(call.request.workloadId)?.healthy;
      const w = this.registry.keepAlive(call.request.workloadId, caller.spiffeId, call.request.healthy);
      if (w.healthy !== before) this.#log('workload.health', { workloadId: w.id, spiffeId: w.spiffeId, healthy: w.healthy });
      this.#publisher.touch(call.request.workloadId);
      this.#registryFile.saveSoon();
      callback(null, { leaseSeconds: Math.ceil(this.registry.leaseMs / 1000) });
    } catch (err) {
      this.#fail(callback, err, status.INVALID_ARGUMENT);
    }
  }

  #deregister(call: ServerUnaryCall<DeregisterRequest, object>, callback: sendUnaryData<object>): void {
    try {
      const caller = this.#authenticate(call);
      this.registry.deregister(call.request.workloadId, caller.spiffeId);
      this.#log('workload.deregistered', { workloadId: call.request.workloadId, spiffeId: caller.spiffeId });
      callback(null, {});
    } catch (err) {
      this.#fail(callback, err, status.INVALID_ARGUMENT);
    }
  }

  // === discovery ===

  /** A sidecar's snapshot stream: the first message names its registration, later ones answer pushes. */
  #subscribe(call: ServerDuplexStream<SubscribeRequest, MeshSnapshot>): void {
    let caller: Caller;
    try {
      caller = this.#authenticate(call);
    } catch (err) {
      this.#log('subscribe.refused', { reason: describeError(err) });
      endCall(call, toServiceError(err, status.UNAUTHENTICATED));
      return;
    }
    let subscribed = false;
    const forget = () => this.#publisher.remove(call);
    call.on('cancelled', forget);
    call.on('close', forget);
    call.on('error', forget);
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('data', (message: SubscribeRequest) => {
      if (subscribed) {
        this.#publisher.answer(call, message);
        return;
      }
      const workload = this.registry.workload(message.workloadId);
      if (!workload) {
        endCall(call, toServiceError(Object.assign(new Error(`no registration ${JSON.stringify(message.workloadId)}: register first`), { grpcCode: status.NOT_FOUND }), status.NOT_FOUND));
        return;
      }
      if (workload.spiffeId !== caller.spiffeId) {
        endCall(call, toServiceError(Object.assign(new Error(`registration ${workload.id} belongs to ${workload.spiffeId}, not ${caller.spiffeId}`), { grpcCode: status.PERMISSION_DENIED }), status.PERMISSION_DENIED));
        return;
      }
      subscribed = true;
      const notAfter = call.getAuthContext().sslPeerCertificate?.valid_to;
      const adminAddress = loopbackAddress(call.metadata.get(ADMIN_ADDRESS_METADATA)[0]);
      this.#publisher.add(call, { workloadId: workload.id, spiffeId: workload.spiffeId, namespace: workload.namespace, labels: workload.labels, ...(adminAddress === undefined ? {} : { adminAddress }) }, notAfter ? new Date(notAfter).toISOString() : undefined);
    });
  }

  // === shared ===

  /** The caller's identity from its client certificate, which must be a valid SVID of this CA now. */
  #authenticate(call: { getAuthContext(): { sslPeerCertificate?: { raw: Buffer } } }, renewal = false): Caller {
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!peer) {
      throw Object.assign(new Error('no client certificate: present a join token to get an SVID, then call with it'), { grpcCode: status.UNAUTHENTICATED });
    }
    try {
      const info = this.#verifyClientChain(peer.raw, renewal);
      return { spiffeId: info.spiffeId, credential: { kind: 'svid', spiffeId: info.spiffeId, serial: info.serial } };
    } catch (err) {
      throw Object.assign(new Error(`client certificate refused: ${describeError(err)}`), { grpcCode: status.UNAUTHENTICATED });
    }
  }

  /**
   * A client's leaf, completed with this CA's chain, must be a valid X.509-SVID of the trust domain
   * now. A leaf verified once is remembered (by its bytes) until it expires: every call of a
   * sidecar presents the same certificate, and a thousand sidecars reconnecting at once should not
   * each pay for a full chain verification per call.
   */
  #verifyClientChain(leaf: Buffer, allowRevoked = false): { spiffeId: string; serial: string } {
    const now = this.#clock.now();
    const id = leaf.toString('base64');
    const known = this.#verified.get(id);
    if (known !== undefined && !allowRevoked && this.ca.lifecycle.revoked.has(known.serial)) throw revokedError(known);
    if (known !== undefined && now >= known.notBefore && now < known.notAfter) return known;
    const chain = [leaf, ...this.ca.chainPem().flatMap((p) => parseCertificatesPem(p))];
    const info = verifyX509Svid(chain, bundleFromPem(this.ca.trustDomain, this.ca.bundlePem()), { clock: this.#clock });
    const result = { spiffeId: info.spiffeId.text, serial: info.serial, notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() };
    if (!allowRevoked && this.ca.lifecycle.revoked.has(result.serial)) throw revokedError(result);
    if (this.#verified.size >= 20_000) this.#verified.clear();
    this.#verified.set(id, result);
    return result;
  }

  #fail<T>(callback: sendUnaryData<T>, err: unknown, fallback: status, event?: string): void {
    if (event) this.#log(event, { reason: describeError(err) });
    callback(toServiceError(err, fallback), null);
  }

  #log(event: string, fields: Record<string, unknown>): void {
    this.#opts.log?.(event, fields);
  }

  /** The store, and a snapshot recomputation after each of its changes. */
  async #openStore(): Promise<void> {
    this.#store = this.#opts.store ?? (await DirectoryConfigStore.open(join(this.#opts.dataDir, 'config'), { clock: this.#clock, log: (event, fields) => this.#log(event, fields) }));
    this.#store.watch((event) => {
      if (event.type === 'invalid') this.#log('config.file_invalid', { file: event.file, issues: event.issues.map((i) => `${i.line}:${i.column}: ${i.path}: ${i.message}`) });
      else if (event.source === 'file') this.#log('config.file_changed', { change: event.type, resource: event.key, revision: event.revision });
    });
    const reload = async () => {
      const revision = await this.#store!.revision();
      const items = await this.#store!.list();
      if (revision >= this.#resources.revision) this.setResources(revision, items);
    };
    this.#unwatch = this.#store.onChange(() => void reload().catch((err: unknown) => this.#log('config.reload_failed', { reason: describeError(err) })));
    await reload();
  }

  /** Lints the stored configuration, with `sources` applied over it as if applied, against the registry. */
  async #analyze(sources: readonly ResourceSource[]): Promise<Finding[]> {
    const byKey = new Map((await this.#store!.list()).map((r) => [key(r), r] as const));
    if (sources.length > 0) {
      for (const r of parseSources(sources).resources) {
        byKey.set(key(r), { ...r, metadata: { ...r.metadata, resourceVersion: '0', creationTimestamp: new Date(this.#clock.now()).toISOString(), generation: 0 } } as StoredResource);
      }
    }
    const resources = [...byKey.values()];
    const mesh = resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig' && r.metadata.name === 'default');
    const workloads = this.registry.workloads().map((w) => ({
      namespace: w.namespace,
      serviceAccount: w.spiffeId.split('/sa/')[1] ?? '',
      labels: w.labels,
      services: w.services.map((name) => ({ name, ports: w.ports.map((p) => ({ name: p.name, port: p.port, protocol: analyzedProtocol(p.protocol) })) })),
    }));
    return analyze({ resources, mesh: mesh?.spec ?? defaultMeshConfigSpec(), trustDomain: this.ca.trustDomain, workloads });
  }

  /** MeshConfig's certificate TTL: the lifetime of an SVID whose sidecar asks for none. */
  #meshCertificateTtlMs(): number | undefined {
    const ttl = this.#meshConfig()?.spec.certificate.ttl;
    return ttl === undefined ? undefined : parseDuration(ttl);
  }

  #meshConfig(): StoredResource<MeshConfig> | undefined {
    return this.#resources.items.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig' && r.metadata.name === 'default');
  }

  /** The admin identities MeshConfig lists (full SPIFFE IDs). */
  #adminIdentities(): readonly string[] {
    return this.#meshConfig()?.spec.adminIdentities ?? [];
  }

  async #startAdmin(addr: { host: string; port: number }): Promise<void> {
    this.#admin = await startAdminApi({
      dataDir: this.#opts.dataDir,
      host: addr.host,
      port: addr.port,
      credentials: this.#serving.credentials,
      caFingerprint: this.ca.rootFingerprint,
      trustDomain: this.ca.trustDomain,
      store: this.#store!,
      checkResources: (resources) => {
        const mesh = resources.find((r): r is MeshConfig => r.kind === 'MeshConfig');
        if (mesh?.spec.trustDomain !== undefined && mesh.spec.trustDomain !== this.ca.trustDomain) {
          throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `MeshConfig spec.trustDomain ${mesh.spec.trustDomain} is not this mesh's trust domain ${this.ca.trustDomain} (fixed when the CA was created); nothing was changed`);
        }
      },
      ready: () => this.#ready,
      verifySvid: (chain) => this.#verifyClientChain(chain[0]!).spiffeId,
      adminIdentities: () => this.#adminIdentities(),
      status: () => ({
        snapshotVersion: this.#publisher.version,
        memory: memoryFigures(),
        connections: { grpc: this.#front?.stats, admin: this.#admin?.stats },
        sidecars: this.#sidecarStatus(),
        services: this.registry.services().map((svc) => ({
          name: svc.name,
          namespace: svc.namespace,
          ports: svc.ports,
          endpoints: svc.endpoints.map((e) => ({ workloadId: e.workloadId, address: `${e.address}:${e.port}`, locality: e.locality, healthy: e.healthy })),
        })),
      }),
      services: () => this.registry.services(),
      analyze: async (_overlay, sources) => ({ findings: await this.#analyze(sources) }),
      authzCheck: async (body) => authzCheck(parseAuthzCheck(body), await this.#store!.list(), this.registry.workloads()),
      audit: (entry) => this.ca.audit.append(entry as never),
      revoke: (body, by) => this.revoke(body, by),
      log: (event, fields) => this.#log(event, fields),
      limits: this.#opts.limits,
    });
    this.#serving.onRenew((credentials) => this.#admin?.setCredentials(credentials));
    this.adminPort = this.#admin.port;
  }
}

function revokedError(c: { spiffeId: string; serial: string }): Error {
  return new CaError('WEFT_CA_CERT_REVOKED', `certificate revoked: serial ${c.serial} of ${c.spiffeId} was revoked (weft ca revoke); enrol the workload again with a new join token`);
}

function toServiceError(err: unknown, fallback: status): ServiceError {
  const explicit = (err as { grpcCode?: status }).grpcCode;
  const code = explicit ?? (isWeftError(err) ? (CODE_BY_ERROR[err.code] ?? fallback) : status.INTERNAL);
  const details = describeError(err);
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

/** The control plane's own memory, in bytes, as `weft status -o json` reports it. */
function memoryFigures(): { rss: number; heapUsed: number; external: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/** The analyzer tells HTTP-family ports from opaque ones; an unnamed port may carry HTTP. */
function analyzedProtocol(protocol: ServiceProtocol): 'HTTP' | 'HTTP2' | 'GRPC' | 'TCP' {
  if (protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'GRPC') return protocol;
  if (protocol === '' || protocol === 'GRPC-WEB') return 'HTTP';
  return 'TCP';
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

/** Registry sizes for the metrics: workloads, distinct services, and endpoints (a workload per service it serves). */
function registrySizes(workloads: readonly { namespace: string; services: readonly string[] }[]): { workloads: number; services: number; endpoints: number } {
  const services = new Set<string>();
  let endpoints = 0;
  for (const w of workloads) {
    for (const s of w.services) services.add(`${s}.${w.namespace}`);
    endpoints += w.services.length;
  }
  return { workloads: workloads.length, services: services.size, endpoints };
}

/**
 * A sidecar's reported admin address, kept only when it is a loopback HOST:PORT: the CLI connects
 * to it, so a sidecar must not be able to point it elsewhere.
 */
function loopbackAddress(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 64) return undefined;
  const m = /^(?:(127\.\d{1,3}\.\d{1,3}\.\d{1,3})|\[(::1)\]):(\d{1,5})$/.exec(v);
  return m === null || Number(m[3]) < 1 || Number(m[3]) > 65535 ? undefined : v;
}
