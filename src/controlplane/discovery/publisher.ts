// Pushes each subscribed sidecar its own snapshot. Changes are gathered for a short debounce, a
// sidecar whose snapshot did not change gets nothing, and a sidecar never has more than one
// unanswered snapshot: changes that arrive meanwhile are sent, merged, once it answers.
import { randomBytes } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { PRE_ENCODED, type MeshSnapshot, type SubscribeRequest } from '../../api/control-plane-api.js';
import { MAX_SNAPSHOT_BYTES } from '../../api/limits.js';
import type { Clock } from '../../lib/clock.js';
import { describeError } from '../../lib/errors.js';
import { DiscoveryError } from './errors.js';

/** What the publisher needs to know of a subscribed workload. */
export interface SubscribedWorkload {
  readonly workloadId: string;
  readonly spiffeId: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The sidecar's admin endpoint as it reported it (loopback host:port), for `weft proxy-config`. */
  readonly adminAddress?: string;
}

/** A workload's snapshot content and a signature that is equal exactly when the content is. */
export interface BuiltSnapshot {
  readonly signature: string;
  /** Changes exactly when the services (endpoints, identities) do. */
  readonly servicesVersion: number;
  readonly content: Omit<MeshSnapshot, 'version' | 'nonce' | 'servicesOmitted'>;
  /** The content's trust bundle and services, already encoded (see PRE_ENCODED). */
  readonly sharedEncoding?: Buffer;
  /** Encoded size: the shared part (bundle, services) and the rest (this workload's resources). */
  readonly bytes?: { readonly shared: number; readonly own: number };
}

/** FAILED: the snapshot could not be sent (too large); the sidecar keeps what it holds. */
export type SnapshotState = 'PENDING' | 'ACK' | 'NACK' | 'FAILED';

/** One connected sidecar as `weft status` shows it. */
export interface SubscriberStatus {
  readonly workloadId: string;
  readonly spiffeId: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly adminAddress?: string;
  /** The version last sent, and the state of the answer to it. */
  readonly sentVersion: number;
  readonly state: SnapshotState;
  /** The version the sidecar last ACKed (0: none yet). */
  readonly ackedVersion: number;
  readonly nackReason?: string;
  readonly nackedVersion?: number;
  /** Why the control plane could not send the snapshot of `failedVersion`. */
  readonly failure?: string;
  readonly failedVersion?: number;
  /** Encoded size of the last snapshot sent. */
  readonly sentBytes?: number;
  readonly certNotAfter?: string;
  readonly connectedAt: string;
  readonly lastContact: string;
}

type Stream = ServerDuplexStream<SubscribeRequest, MeshSnapshot>;

const SLOT_TIMEOUT_MS = 30_000;

interface Subscription {
  readonly stream: Stream;
  readonly workload: SubscribedWorkload;
  readonly certNotAfter?: string;
  readonly connectedAt: number;
  lastContact: number;
  sentSignature?: string;
  sentServicesVersion?: number;
  /** The services version of the last ACKed snapshot: what the sidecar holds. */
  ackedServicesVersion?: number;
  sentVersion: number;
  pendingNonce?: string;
  dirty: boolean;
  holdsSlot?: boolean;
  slotTimer?: NodeJS.Timeout;
  state: SnapshotState;
  ackedVersion: number;
  nackReason?: string;
  nackedVersion?: number;
  failure?: string;
  failedVersion?: number;
  sentBytes?: number;
  /** The earliest change not yet sent to this sidecar, and the one the pending snapshot carries. */
  changeAt?: number;
  sentChangeAt?: number;
}

/** What the publisher reports to the control plane's metrics. */
export interface PublisherMetrics {
  pushed(type: 'snapshot' | 'snapshot_toolarge'): void;
  rejected(): void;
  /** A sidecar ACKed the snapshot carrying a change made `ms` ago. */
  converged(ms: number): void;
}

export interface PublisherOptions {
  build: (workload: SubscribedWorkload) => BuiltSnapshot;
  clock: Clock;
  debounceMs?: number;
  /**
   * Snapshots unanswered across all sidecars at once; more wait for an answer. Bounds the memory
   * a connect storm or a mesh-wide change takes (every queued snapshot is bytes in a socket buffer).
   */
  maxInFlight?: number;
  /**
   * The largest snapshot sent (at most what a sidecar accepts). A larger one fails for its
   * workload alone: logged, shown by `weft status`, and the sidecar keeps its last snapshot.
   */
  maxSnapshotBytes?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  metrics?: PublisherMetrics;
}

export class SnapshotPublisher {
  readonly #opts: PublisherOptions;
  readonly #subs = new Map<Stream, Subscription>();
  #version = 1;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  /** When the first change not yet pushed was made. */
  #changedAt: number | undefined;
  /** Sidecars with a snapshot to send once the in-flight window has room, oldest first. */
  readonly #waiting = new Set<Subscription>();

  constructor(opts: PublisherOptions) {
    this.#opts = opts;
  }

  /** The version the next computed snapshot carries. */
  get version(): number {
    return this.#version;
  }

  /** Sidecars connected to the discovery stream. */
  get connected(): number {
    return this.#subs.size;
  }

  /** Starts serving an authenticated sidecar: sends its first snapshot at once. */
  add(stream: Stream, workload: SubscribedWorkload, certNotAfter?: string): void {
    const now = this.#opts.clock.now();
    const sub: Subscription = { stream, workload, certNotAfter, connectedAt: now, lastContact: now, sentVersion: 0, dirty: false, state: 'PENDING', ackedVersion: 0 };
    this.#subs.set(stream, sub);
    this.#send(sub);
  }

  remove(stream: Stream): void {
    const sub = this.#subs.get(stream);
    if (!sub) return;
    this.#subs.delete(stream);
    this.#waiting.delete(sub);
    this.#release(sub);
  }

  /** An ACK or NACK from the sidecar on `stream`. */
  answer(stream: Stream, message: SubscribeRequest): void {
    const sub = this.#subs.get(stream);
    if (!sub) return;
    sub.lastContact = this.#opts.clock.now();
    if (message.nonce === '' || message.nonce !== sub.pendingNonce) return;
    sub.pendingNonce = undefined;
    this.#release(sub);
    if (message.error === '') {
      if (sub.sentChangeAt !== undefined) this.#opts.metrics?.converged(this.#opts.clock.now() - sub.sentChangeAt);
      sub.sentChangeAt = undefined;
      sub.state = 'ACK';
      sub.ackedVersion = message.version;
      sub.ackedServicesVersion = sub.sentServicesVersion;
      sub.nackReason = undefined;
      sub.nackedVersion = undefined;
    } else {
      this.#opts.metrics?.rejected();
      sub.state = 'NACK';
      sub.nackReason = message.error.slice(0, 2_000);
      sub.nackedVersion = message.version;
      this.#opts.log?.('snapshot.nacked', { workloadId: sub.workload.workloadId, spiffeId: sub.workload.spiffeId, version: message.version, reason: sub.nackReason });
    }
    if (sub.dirty) this.#send(sub);
  }

  /** Any sign of life from a workload (a lease renewal) counts as contact. */
  touch(workloadId: string): void {
    const now = this.#opts.clock.now();
    for (const sub of this.#subs.values()) if (sub.workload.workloadId === workloadId) sub.lastContact = now;
  }

  /** Something that may concern some sidecars changed: push after the debounce. */
  changed(): void {
    this.#version++;
    this.#changedAt ??= this.#opts.clock.now();
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const at = this.#changedAt;
      this.#changedAt = undefined;
      for (const sub of this.#subs.values()) {
        if (at !== undefined && (sub.changeAt === undefined || at < sub.changeAt)) sub.changeAt = at;
        this.#send(sub);
      }
    }, this.#opts.debounceMs ?? 100);
    this.#timer.unref();
  }

  status(): SubscriberStatus[] {
    const iso = (ms: number) => new Date(ms).toISOString();
    return [...this.#subs.values()]
      .map((s) => ({
        workloadId: s.workload.workloadId,
        spiffeId: s.workload.spiffeId,
        namespace: s.workload.namespace,
        labels: s.workload.labels,
        ...(s.workload.adminAddress === undefined ? {} : { adminAddress: s.workload.adminAddress }),
        sentVersion: s.sentVersion,
        state: s.state,
        ackedVersion: s.ackedVersion,
        ...(s.nackReason === undefined ? {} : { nackReason: s.nackReason, nackedVersion: s.nackedVersion }),
        ...(s.failure === undefined ? {} : { failure: s.failure, failedVersion: s.failedVersion }),
        ...(s.sentBytes === undefined ? {} : { sentBytes: s.sentBytes }),
        ...(s.certNotAfter === undefined ? {} : { certNotAfter: s.certNotAfter }),
        connectedAt: iso(s.connectedAt),
        lastContact: iso(s.lastContact),
      }))
      .sort((a, b) => a.spiffeId.localeCompare(b.spiffeId) || a.workloadId.localeCompare(b.workloadId));
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#waiting.clear();
    for (const sub of this.#subs.values()) clearTimeout(sub.slotTimer);
    for (const stream of this.#subs.keys()) stream.end();
    this.#subs.clear();
  }

  #release(sub: Subscription): void {
    clearTimeout(sub.slotTimer);
    if (!sub.holdsSlot) return;
    sub.holdsSlot = false;
    this.#settled();
  }

  /** A place in the in-flight window came free: let a waiting sidecar have it. */
  #settled(): void {
    this.#inFlight--;
    for (const next of this.#waiting) {
      if (this.#inFlight >= (this.#opts.maxInFlight ?? 200)) break;
      this.#waiting.delete(next);
      this.#send(next);
    }
  }

  #send(sub: Subscription): void {
    if (sub.pendingNonce !== undefined) {
      sub.dirty = true;
      return;
    }
    if (this.#inFlight >= (this.#opts.maxInFlight ?? 200)) {
      this.#waiting.add(sub);
      return;
    }
    sub.dirty = false;
    const built = this.#opts.build(sub.workload);
    if (built.signature === sub.sentSignature) {
      // The change did not concern this sidecar: nothing to converge on.
      sub.changeAt = undefined;
      return;
    }
    const omit = sub.ackedServicesVersion === built.servicesVersion;
    const shared = omit ? 0 : (built.bytes?.shared ?? 0);
    const bytes = built.bytes === undefined ? undefined : shared + built.bytes.own;
    const limit = Math.min(this.#opts.maxSnapshotBytes ?? MAX_SNAPSHOT_BYTES, MAX_SNAPSHOT_BYTES);
    if (bytes !== undefined && bytes > limit) {
      this.#failed(sub, built.signature, { shared, own: built.bytes!.own }, limit);
      return;
    }
    const nonce = randomBytes(8).toString('hex');
    this.#inFlight++;
    // A sidecar that never answers keeps its own snapshot pending, but not a place in the window.
    sub.holdsSlot = true;
    clearTimeout(sub.slotTimer);
    sub.slotTimer = setTimeout(() => this.#release(sub), SLOT_TIMEOUT_MS).unref();
    sub.sentSignature = built.signature;
    sub.sentServicesVersion = built.servicesVersion;
    sub.sentVersion = this.#version;
    sub.pendingNonce = nonce;
    sub.state = 'PENDING';
    sub.failure = undefined;
    sub.failedVersion = undefined;
    sub.sentBytes = bytes;
    sub.sentChangeAt = sub.changeAt;
    sub.changeAt = undefined;
    this.#opts.metrics?.pushed('snapshot');
    const message: MeshSnapshot = { ...built.content, ...(omit ? { services: [] } : {}), servicesOmitted: omit, version: this.#version, nonce };
    if (!omit && built.sharedEncoding !== undefined) Object.defineProperty(message, PRE_ENCODED, { value: built.sharedEncoding });
    sub.stream.write(message);
  }

  /**
   * A snapshot too large to send fails for this workload only; every other sidecar still gets
   * its own. Logged once per content: it is tried again when the content changes.
   */
  #failed(sub: Subscription, signature: string, parts: { shared: number; own: number }, limit: number): void {
    const bytes = parts.shared + parts.own;
    sub.sentSignature = signature;
    sub.changeAt = undefined;
    this.#opts.metrics?.pushed('snapshot_toolarge');
    sub.state = 'FAILED';
    sub.failedVersion = this.#version;
    const error = new DiscoveryError(
      'WEFT_SNAPSHOT_TOO_LARGE',
      `snapshot of ${bytes} bytes (services ${parts.shared}, resources ${parts.own}) exceeds the ${limit}-byte limit a sidecar accepts; not sent, the sidecar keeps its last snapshot`,
    );
    sub.failure = describeError(error);
    this.#opts.log?.('snapshot.too_large', {
      workloadId: sub.workload.workloadId,
      spiffeId: sub.workload.spiffeId,
      version: this.#version,
      bytes,
      servicesBytes: parts.shared,
      resourcesBytes: parts.own,
      limit,
      code: error.code,
    });
  }
}
