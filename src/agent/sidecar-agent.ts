import { EventEmitter } from 'node:events';
import { createHash, randomInt } from 'node:crypto';
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { decodeJoinToken } from '../attest/index.js';
import type { MeshSnapshot, RegisterRequest, SignCertificateResponse, SubscribeRequest } from '../api/control-plane-api.js';
import { certificatesToPem, parseCertificatesPem } from '../identity/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { describeError } from '../lib/errors.js';
import { SIDECAR_RECONNECT_MAX_MS } from '../api/limits.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { generateWorkloadKey } from './csr.js';
import { AgentError } from './errors.js';
import { isUnreachable, withFirstContactRetry } from './first-contact.js';
import { fetchPinnedRoot } from './pin-root.js';

/** The workload's current X.509-SVID with its key and trust anchors, all PEM. */
export interface WorkloadSvid {
  spiffeId: string;
  trustDomain: string;
  keyPem: string;
  certChainPem: string;
  bundlePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface SidecarAgentOptions {
  controlPlane: { host: string; port: number };
  token: string;
  clock?: Clock;
  log?: (level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>) => void;
  /** Requested SVID lifetime in seconds; 0 takes the CA's default. */
  ttlSeconds?: number;
  /**
   * Validates and puts a pushed snapshot in force. Throwing refuses it: the agent NACKs with the
   * error's message and the last accepted snapshot stays. Absent: every snapshot is accepted.
   */
  accept?: (snapshot: MeshSnapshot) => void;
  /**
   * How long first contact keeps retrying a control plane that is not reachable (yet), with
   * backoff; 0 tries once. Default 3 minutes. Refusals are never retried.
   */
  firstContactWaitMs?: number;
  /** The sidecar's admin endpoint (host:port), reported to the control plane when subscribing. */
  adminAddress?: () => string | undefined;
}

/** The default bound of `firstContactWaitMs`. */
export const DEFAULT_FIRST_CONTACT_WAIT_MS = 180_000;

/** Health reports are at least this far apart; changes in between go out together, as the latest state. */
export const HEALTH_REPORT_MIN_INTERVAL_MS = 1_000;

/**
 * The control-plane side of a sidecar: pins the CA from the join token, gets and rotates the SVID
 * (at about half its lifetime, with jitter), registers the workload and keeps its lease, and
 * follows the discovery stream. When the control plane is away it keeps the last SVID and
 * snapshot, reconnects with backoff and registers again.
 *
 * Events: 'svid' (WorkloadSvid), 'snapshot' (an accepted MeshSnapshot), 'nack' (snapshot, reason),
 * 'connected', 'disconnected' (reason).
 */
export class SidecarAgent extends EventEmitter {
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly #opts: SidecarAgentOptions;
  readonly #clock: Clock;
  readonly #fingerprint: string;
  #rootPem = '';
  #client: ControlPlaneClient | undefined;
  #stream: ClientDuplexStream<SubscribeRequest, MeshSnapshot> | undefined;
  #svid: WorkloadSvid | undefined;
  #snapshot: MeshSnapshot | undefined;
  #workloadId: string | undefined;
  #registration: RegisterRequest | undefined;
  #timers = new Set<NodeJS.Timeout>();
  #backoffMs = 0;
  #keepAliveGeneration = 0;
  #stopped = false;
  #draining = false;
  #reportPending = false;
  #lastReportAt = -Infinity;
  rotations = 0;
  connected = false;

  constructor(opts: SidecarAgentOptions) {
    super();
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    const claims = decodeJoinToken(opts.token);
    this.spiffeId = claims.spiffeId;
    this.trustDomain = claims.trustDomain;
    this.#fingerprint = claims.caFingerprint;
  }

  get svid(): WorkloadSvid | undefined {
    return this.#svid;
  }

  get snapshot(): MeshSnapshot | undefined {
    return this.#snapshot;
  }

  get address(): string {
    return `${this.#opts.controlPlane.host}:${this.#opts.controlPlane.port}`;
  }

  /**
   * First contact: pin the root and get an SVID with the join token. A control plane that is not
   * reachable yet is retried with backoff for `firstContactWaitMs`; a refusal throws at once.
   */
  async start(): Promise<WorkloadSvid> {
    const key = await generateWorkloadKey(this.spiffeId);
    const signed = await withFirstContactRetry(() => this.#firstContact(key.csrDer), {
      waitMs: this.#opts.firstContactWaitMs ?? DEFAULT_FIRST_CONTACT_WAIT_MS,
      address: this.address,
      clock: this.#clock,
      stopped: () => this.#stopped,
      log: (level, event, fields) => this.#log(level, event, fields),
    });
    this.#installSvid(key.keyPem, signed);
    return this.#svid!;
  }

  async #firstContact(csrDer: Buffer): Promise<SignCertificateResponse> {
    const { host, port } = this.#opts.controlPlane;
    const root = await fetchPinnedRoot(host, port, this.#fingerprint);
    this.#rootPem = certificatesToPem([root]);
    const bootstrap = new ControlPlaneClient(this.address, this.trustDomain, { rootPem: this.#rootPem });
    try {
      return await bootstrap.signCertificate(csrDer, this.#opts.token, this.#opts.ttlSeconds).catch((err: ServiceError) => {
        const reason = err.details || err.message;
        if (isUnreachable(err)) throw new AgentError('WEFT_CONTROL_PLANE_UNREACHABLE', `the control plane at ${this.address} is not serving: ${reason}`, { cause: err });
        throw new AgentError('WEFT_CONTROL_PLANE_REFUSED', `the control plane refused the join token: ${reason}`, { cause: err });
      });
    } finally {
      bootstrap.close();
    }
  }

  /**
   * A restart with an SVID saved by an earlier run: no join token is spent. Accepted only when it
   * is this token's identity, still valid, and its bundle holds the root the token pins; from then
   * on the SVID renews itself over mTLS. Returns false (the caller then uses `start`) otherwise.
   */
  resume(saved: WorkloadSvid): boolean {
    if (saved.spiffeId !== this.spiffeId || saved.notAfter.getTime() <= this.#clock.now() + 5_000) return false;
    const pinned = parseCertificatesPem(saved.bundlePem).find((der) => `sha256:${createHash('sha256').update(der).digest('hex')}` === this.#fingerprint);
    if (!pinned) return false;
    this.#rootPem = certificatesToPem([pinned]);
    this.#setSvid(saved);
    return true;
  }

  /** Registers the workload, follows the discovery stream, and resolves with the first snapshot. */
  async join(registration: RegisterRequest): Promise<MeshSnapshot> {
    this.#registration = registration;
    const first = new Promise<MeshSnapshot>((resolve, reject) => {
      const onSnapshot = (snapshot: MeshSnapshot) => {
        this.off('fatal', onFatal);
        resolve(snapshot);
      };
      const onFatal = (err: Error) => {
        this.off('snapshot', onSnapshot);
        reject(err);
      };
      this.once('snapshot', onSnapshot);
      this.once('fatal', onFatal);
    });
    await this.#connect();
    return first;
  }

  /**
   * The app's health changed: the registration carries it from now on (a re-registration too),
   * and a KeepAlive reports it at once, or as soon as HEALTH_REPORT_MIN_INTERVAL_MS after the
   * last report allows. Ignored once draining.
   */
  setHealth(healthy: boolean): void {
    if (this.#draining || !this.#registration || (this.#registration.healthy ?? true) === healthy) return;
    this.#registration = { ...this.#registration, healthy };
    if (this.#reportPending) return;
    this.#reportPending = true;
    const wait = Math.max(0, this.#lastReportAt + HEALTH_REPORT_MIN_INTERVAL_MS - this.#clock.now());
    this.#after(wait, () => {
      this.#reportPending = false;
      void this.#reportHealth();
    });
  }

  /**
   * SIGTERM: the workload reports itself unhealthy, so callers stop sending it requests while it
   * finishes those in flight (it stays in their directory until it deregisters). Resolves once the
   * control plane has it, or could not be told within `timeoutMs`.
   */
  async markDraining(timeoutMs = 2_000): Promise<void> {
    if (!this.#registration) return;
    this.#registration = { ...this.#registration, healthy: false };
    this.#draining = true;
    await this.#reportHealth(timeoutMs);
  }

  async #reportHealth(timeoutMs?: number): Promise<void> {
    const id = this.#workloadId;
    const healthy = this.#registration?.healthy ?? true;
    // Not registered (yet, or any more): the next registration carries the state.
    if (!id || !this.#client || this.#stopped) return;
    this.#lastReportAt = this.#clock.now();
    try {
      await this.#client.keepAlive(id, healthy, timeoutMs);
      this.#log('info', 'health.reported', { healthy });
    } catch (err) {
      const e = err as ServiceError;
      this.#log('warn', 'health.report_failed', { healthy, reason: e.details || e.message });
      // The periodic keep-alive carries the state too; a lost registration registers again with it.
      if (e.code === status.NOT_FOUND && !this.#stopped) void this.#connect();
    }
  }

  /** Stops every timer and stream; deregisters first when asked (a draining sidecar). */
  async stop(opts: { deregister?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#stream?.cancel();
    if (opts.deregister && this.#client && this.#workloadId) {
      await this.#client.deregister(this.#workloadId).catch(() => undefined);
    }
    this.#client?.close();
  }

  #installSvid(keyPem: string, signed: SignCertificateResponse): void {
    this.#setSvid({
      spiffeId: signed.spiffeId,
      trustDomain: this.trustDomain,
      keyPem,
      certChainPem: certificatesToPem(signed.certChain),
      bundlePem: certificatesToPem(signed.trustBundle),
      serial: signed.serial,
      notBefore: new Date(signed.notBefore * 1000),
      notAfter: new Date(signed.notAfter * 1000),
    });
  }

  #setSvid(svid: WorkloadSvid): void {
    this.#svid = svid;
    this.emit('svid', svid);
    this.#scheduleRotation();
  }

  /** Renewal at half the lifetime, give or take 10 %, so a fleet does not renew in lockstep. */
  #scheduleRotation(): void {
    const svid = this.#svid!;
    const lifetime = svid.notAfter.getTime() - svid.notBefore.getTime();
    const jitter = randomInt(-1000, 1001) / 10_000;
    const at = svid.notBefore.getTime() + lifetime * (0.5 + jitter);
    this.#after(Math.max(0, at - this.#clock.now()), () => void this.#rotate());
  }

  async #rotate(): Promise<void> {
    if (this.#stopped) return;
    try {
      const key = await generateWorkloadKey(this.spiffeId);
      const current = this.#svid!;
      const client = this.#client ?? new ControlPlaneClient(this.address, this.trustDomain, { rootPem: this.#rootPem, keyPem: current.keyPem, certChainPem: current.certChainPem });
      const signed = await client.signCertificate(key.csrDer, '', this.#opts.ttlSeconds);
      if (client !== this.#client) client.close();
      this.rotations++;
      this.#installSvid(key.keyPem, signed);
      this.#log('info', 'svid.rotated', { serial: signed.serial, notAfter: new Date(signed.notAfter * 1000).toISOString() });
      // New channel with the new certificate; the stream moves over to it.
      await this.#connect();
    } catch (err) {
      const left = this.#svid!.notAfter.getTime() - this.#clock.now();
      this.#log('warn', 'svid.rotation_failed', { reason: describeError(err), expiresInMs: left });
      this.#after(Math.min(Math.max(1_000, left / 10), 30_000), () => void this.#rotate());
    }
  }

  /** (Re)opens the channel with the current SVID, registers, and follows the discovery stream. */
  async #connect(): Promise<void> {
    if (this.#stopped || !this.#registration) return;
    const old = this.#client;
    const oldStream = this.#stream;
    const svid = this.#svid!;
    const client = new ControlPlaneClient(this.address, this.trustDomain, { rootPem: this.#rootPem, keyPem: svid.keyPem, certChainPem: svid.certChainPem });
    this.#client = client;
    try {
      const registered = await client.register(this.#registration!);
      this.#workloadId = registered.workloadId;
      this.#scheduleKeepAlive(registered.leaseSeconds);
      this.#follow(client, registered.workloadId);
      oldStream?.cancel();
      old?.close();
      this.#backoffMs = 0;
      if (!this.connected) this.emit('connected');
      this.connected = true;
    } catch (err) {
      const e = err as ServiceError;
      // A registration over a limit, or whose ports contradict the service's, is refused at first
      // start; later (a reconnect while stale registrations still hold their leases) it is retried.
      const later = e.code === status.RESOURCE_EXHAUSTED || e.code === status.FAILED_PRECONDITION;
      const refused = e.code === status.PERMISSION_DENIED || e.code === status.INVALID_ARGUMENT || (later && this.listenerCount('fatal') > 0);
      if (refused) {
        const fatal = new AgentError('WEFT_CONTROL_PLANE_REFUSED', `registration refused: ${e.details || e.message}`, { cause: err });
        if (this.listenerCount('fatal') > 0) this.emit('fatal', fatal);
        else this.#log('error', 'registration.refused', { reason: fatal.message });
        return;
      }
      if (client !== old) client.close();
      this.#client = old ?? client;
      this.#disconnected(describeError(err));
    }
  }

  #follow(client: ControlPlaneClient, workloadId: string): void {
    const stream = client.subscribe(this.#opts.adminAddress?.());
    this.#stream = stream;
    stream.on('data', (pushed: MeshSnapshot) => {
      // Omitted services are the ones of the last snapshot accepted on this stream.
      const snapshot = pushed.servicesOmitted && this.#snapshot ? { ...pushed, services: this.#snapshot.services, servicesOmitted: false } : pushed;
      let error = '';
      try {
        this.#opts.accept?.(snapshot);
      } catch (err) {
        error = describeError(err);
      }
      stream.write({ workloadId, version: snapshot.version, nonce: snapshot.nonce, error });
      if (error !== '') {
        this.#log('warn', 'snapshot.nacked', { version: snapshot.version, reason: error });
        this.emit('nack', snapshot, error);
        return;
      }
      this.#snapshot = snapshot;
      this.emit('snapshot', snapshot);
    });
    stream.on('error', (err: ServiceError) => {
      if (this.#stream !== stream || err.code === status.CANCELLED) return;
      this.#disconnected(err.details || err.message);
    });
    stream.on('end', () => {
      if (this.#stream === stream && !this.#stopped) this.#disconnected('discovery stream ended');
    });
    stream.write({ workloadId, version: 0, nonce: '', error: '' });
  }

  #scheduleKeepAlive(leaseSeconds: number): void {
    const every = Math.max(200, (leaseSeconds * 1000) / 3);
    // One keep-alive loop at a time: a loop started by an earlier connection stops at its next tick.
    const generation = ++this.#keepAliveGeneration;
    const tick = () => {
      const id = this.#workloadId;
      if (!id || this.#stopped || generation !== this.#keepAliveGeneration) return;
      this.#client!.keepAlive(id, this.#registration?.healthy ?? true).then(
        () => this.#after(every, tick),
        (err: ServiceError) => {
          if (err.code === status.NOT_FOUND) void this.#connect();
          else this.#after(every, tick);
        },
      );
    };
    this.#after(every, tick);
  }

  #disconnected(reason: string): void {
    if (this.#stopped) return;
    if (this.connected) {
      this.connected = false;
      this.emit('disconnected', reason);
      this.#log('warn', 'control_plane.disconnected', { reason });
    }
    this.#backoffMs = Math.min(SIDECAR_RECONNECT_MAX_MS, this.#backoffMs === 0 ? 200 : this.#backoffMs * 2);
    const delay = this.#backoffMs / 2 + randomInt(0, Math.ceil(this.#backoffMs / 2) + 1);
    this.#stream = undefined;
    this.#after(delay, () => void this.#connect());
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  #log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>): void {
    this.#opts.log?.(level, event, { spiffeId: this.spiffeId, ...fields });
  }
}
