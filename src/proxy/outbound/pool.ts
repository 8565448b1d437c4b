// Outbound stage 3: one pooled HTTP/2-over-mTLS session per peer sidecar, many streams on it.
// A session is usable only after the handshake verified the server's chain (OpenSSL, our
// bundle) and its X.509-SVID leaf (checkServerIdentity): nothing is sent to an unverified peer.
// A session holds as many streams as the peer's SETTINGS allow; when every session to a peer is
// full, another is opened, up to maxSessionsPerPeer, and past that a request or tunnel is refused
// at once: a stream submitted beyond the peer's limit would wait in nghttp2 for a free slot, and
// behind long-lived tunnels that wait has no end.
import { connect as connectH2, type ClientHttp2Session, type ClientHttp2Stream, type ClientSessionRequestOptions, type OutgoingHttpHeaders } from 'node:http2';
import { connect as connectTls, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../telemetry/logger.js';
import { sessionOpenedChannel } from '../diagnostics.js';
import { ProxyError } from '../errors.js';
import { MESH_CONNECTION_WINDOW, MESH_H2_SETTINGS } from '../inbound/server.js';
import { PeerVerifier } from '../peer-identity.js';
import { REVOKED_REASON, type Revocations } from '../revocations.js';
import type { ProxyStats } from '../stats.js';
import { createClientContext, MESH_ALPN } from '../tls-contexts.js';
import type { Endpoint, SidecarIdentity } from '../types.js';
import { DEFAULT_KEEPALIVE_INTERVAL_MS, watchSessionLiveness } from '../session-liveness.js';

/** A verified session to one peer sidecar. */
export interface MeshSession {
  readonly key: string;
  readonly session: ClientHttp2Session;
  /** The SPIFFE ID the server proved in its handshake. */
  readonly peerSpiffeId: string;
  /** Streams open on the session now (counted by SessionPool.request). */
  streams: number;
  /** Slots promised to callers of connect() that have not opened their stream yet. */
  reserved: number;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS, kept from its last SETTINGS (reading it per request would cost a native call). */
  limit: number;
}

/** Sessions one sidecar keeps to one peer endpoint, by default. */
export const DEFAULT_SESSIONS_PER_PEER = 8;

const CONNECT_TIMEOUT_MS = 5_000;
/** How long an endpoint that refused a connection is passed over by the balancer. */
const DOWN_MS = 5_000;
/** A session with no frames but PINGs for this long is closed gracefully. */
const IDLE_TIMEOUT_MS = 300_000;

const keys = new WeakMap<Endpoint, string>();
const kPooled = Symbol('weft.pool.session');
type Pooled = ClientHttp2Stream & { [kPooled]?: MeshSession };

function onPooledStreamClose(this: Pooled): void {
  const ms = this[kPooled];
  if (ms !== undefined) ms.streams--;
}

/** The peer's stream limit for one session; before its SETTINGS arrive Node reports none. */
function streamLimit(session: ClientHttp2Session): number {
  return session.remoteSettings.maxConcurrentStreams ?? 0xffffffff;
}

/** `address:port`, with brackets for IPv6; cached per endpoint object. */
export function endpointKey(ep: Endpoint): string {
  let key = keys.get(ep);
  if (key === undefined) {
    key = ep.address.includes(':') ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
    keys.set(ep, key);
  }
  return key;
}

// === SessionPool ===

export class SessionPool {
  readonly #ready = new Map<string, MeshSession[]>();
  readonly #connecting = new Map<string, Promise<MeshSession>>();
  /** Every open session, pooled or retired, for drain. */
  readonly #all = new Set<ClientHttp2Session>();
  /** Endpoints whose last connect failed, until when (clock ms): passive health checking. */
  readonly #downUntil = new Map<string, number>();
  readonly #stats: ProxyStats;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #revocations: Revocations | undefined;
  readonly #maxSessions: number;
  readonly #keepaliveMs: number;
  #verifier: PeerVerifier;
  #context: SecureContext;

  /** @throws TypeError when maxSessionsPerPeer is not a positive integer. */
  constructor(opts: { identity: SidecarIdentity; stats: ProxyStats; logger: Logger; clock: Clock; revocations?: Revocations; maxSessionsPerPeer?: number; keepaliveIntervalMs?: number }) {
    const max = opts.maxSessionsPerPeer ?? DEFAULT_SESSIONS_PER_PEER;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError(`"maxSessionsPerPeer" must be a positive integer, got ${String(max)}`);
    this.#maxSessions = max;
    this.#keepaliveMs = opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    this.#clock = opts.clock;
    this.#revocations = opts.revocations;
    this.#verifier = new PeerVerifier(opts.identity, opts.clock, opts.revocations);
    this.#context = createClientContext(opts.identity);
    this.#stats = opts.stats;
    this.#logger = opts.logger;
  }

  /**
   * A pooled, verified session for `key` with a free stream slot, if there is one. The caller
   * must open its stream with request() in the same tick.
   */
  get(key: string): MeshSession | undefined {
    const list = this.#ready.get(key);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) {
      const ms = list[i]!;
      if (ms.session.closed || ms.session.destroyed) {
        list.splice(i--, 1);
        continue;
      }
      if (ms.streams + ms.reserved < ms.limit) return ms;
    }
    if (list.length === 0) this.#ready.delete(key);
    return undefined;
  }

  /**
   * A session to `endpoint` with a slot reserved for the caller, who must then call request()
   * with `reserved` true, or release(). Opens a session (or joins one being opened) when every
   * pooled one is full.
   *
   * @throws ProxyError WEFT_PROXY_STREAMS_EXHAUSTED when maxSessionsPerPeer sessions are all full;
   *   WEFT_PROXY_UPSTREAM_UNAVAILABLE when the connection fails.
   */
  async connect(endpoint: Endpoint, key: string): Promise<MeshSession> {
    if (this.#revocations?.selfRevoked === true) throw selfRevoked(this.#stats);
    for (let round = 0; round <= this.#maxSessions; round++) {
      const ms = this.get(key);
      if (ms !== undefined) {
        ms.reserved++;
        return ms;
      }
      const pending = this.#connecting.get(key);
      if (pending === undefined && (this.#ready.get(key)?.length ?? 0) >= this.#maxSessions) break;
      await (pending ?? this.#startOpen(endpoint, key));
    }
    this.#stats.outbound_streams_exhausted_total++;
    const open = this.#ready.get(key) ?? [];
    throw new ProxyError('WEFT_PROXY_STREAMS_EXHAUSTED', `every session to a sidecar of the service is at its stream limit`, {
      message: `${open.length} sessions to ${key} (the --max-sessions-per-peer cap) each hold the ${open[0]?.limit ?? '?'} streams the peer allows`,
      fields: { endpoint: key, sessions: open.length },
    });
  }

  /** Opens a stream on `ms`, counted until it closes; `reserved`: the slot connect() promised. */
  request(ms: MeshSession, headers: OutgoingHttpHeaders, options: ClientSessionRequestOptions | undefined, reserved: boolean): ClientHttp2Stream {
    if (reserved) ms.reserved--;
    const stream = ms.session.request(headers, options) as Pooled;
    ms.streams++;
    stream[kPooled] = ms;
    stream.once('close', onPooledStreamClose);
    return stream;
  }

  /** Gives back the slot connect() reserved, for a caller that opens no stream after all. */
  release(ms: MeshSession): void {
    if (ms.reserved > 0) ms.reserved--;
  }

  #startOpen(endpoint: Endpoint, key: string): Promise<MeshSession> {
    const pending = this.#open(endpoint, key);
    this.#connecting.set(key, pending);
    const clear = (): void => void this.#connecting.delete(key);
    pending.then(clear, clear);
    return pending;
  }

  /** True while `key` is passed over after a failed connect; always false when nothing failed. */
  isDown(key: string): boolean {
    if (this.#downUntil.size === 0) return false;
    const until = this.#downUntil.get(key);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#downUntil.delete(key);
    return false;
  }

  get anyDown(): boolean {
    return this.#downUntil.size > 0;
  }

  /** A session that lost a stream unsent, or failed: take it out of the pool so the next request opens a fresh one. */
  evict(ms: MeshSession): void {
    this.#forget(ms.key, ms.session);
  }

  /**
   * New sessions use the new certificate and bundle. Pooled sessions are retired gracefully
   * (GOAWAY after their open streams finish), so no request fails and no connection is cut
   * mid-stream, and no session outlives the certificate it was authenticated with by much.
   */
  updateIdentity(identity: SidecarIdentity): void {
    const context = createClientContext(identity);
    this.#verifier = new PeerVerifier(identity, this.#clock, this.#revocations);
    this.#context = context;
    for (const list of this.#ready.values()) for (const ms of list) ms.session.close();
    this.#ready.clear();
  }

  get sessionCount(): number {
    return this.#all.size;
  }

  /** Closes every session gracefully, waits for them or `deadline`, then destroys the rest. */
  async drain(deadline: Promise<void>): Promise<void> {
    this.#ready.clear();
    const closed = [...this.#all].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.close(() => resolve()))));
    await Promise.race([Promise.all(closed), deadline]);
    for (const s of this.#all) s.destroy();
  }

  #open(endpoint: Endpoint, key: string): Promise<MeshSession> {
    const context = this.#context;
    const verifier = this.#verifier;
    const stats = this.#stats;
    let peerSpiffeId = '';
    let peerSerial = '';
    let socket: TLSSocket | undefined;
    const createConnection = (): TLSSocket => {
      socket = connectTls({
        host: endpoint.address,
        port: endpoint.port,
        secureContext: context,
        ALPNProtocols: [MESH_ALPN],
        // Runs inside the handshake, after OpenSSL verified the chain: an Error aborts it.
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          try {
            ({ spiffeId: peerSpiffeId, serial: peerSerial } = verifier.verifyChain(cert));
            return undefined;
          } catch (err) {
            const f = (err as ProxyError).fields;
            if (f?.stage === 'revoked') this.#revocations?.refused('outbound', String(f.serial), String(f.peer));
            return err as Error;
          }
        },
      });
      return socket.setNoDelay(true);
    };
    return new Promise<MeshSession>((resolve, reject) => {
      const session = connectH2(`https://${key}`, { settings: MESH_H2_SETTINGS, maxSessionMemory: 64, createConnection });
      this.#all.add(session);
      const timer = setTimeout(() => session.destroy(new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'connect timed out')), CONNECT_TIMEOUT_MS);
      let connected = false;
      session.once('connect', () => {
        connected = true;
        stats.outbound_tls_handshakes_total++;
        stats.outbound_sessions_opened_total++;
        stats.outbound_sessions_active++;
        if (socket?.alpnProtocol !== MESH_ALPN) {
          session.destroy();
          reject(new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'peer sidecar does not speak h2', { fields: { endpoint: key } }));
          return;
        }
        session.setLocalWindowSize(MESH_CONNECTION_WINDOW);
        watchSessionLiveness(session, {
          interval: this.#keepaliveMs,
          idleClose: IDLE_TIMEOUT_MS,
          onDead: () => {
            stats.outbound_sessions_unresponsive_total++;
            this.#logger.log('info', 'outbound.session.unresponsive', { endpoint: key, peer: peerSpiffeId, reason: `no answer to a PING within ${this.#keepaliveMs} ms` });
          },
        });
        this.#downUntil.delete(key);
      });
      // Pooled only once the peer's SETTINGS tell how many streams the session may carry.
      session.once('remoteSettings', () => {
        if (!connected || session.destroyed) return;
        clearTimeout(timer);
        const ms: MeshSession = { key, session, peerSpiffeId, streams: 0, reserved: 0, limit: streamLimit(session) };
        session.on('remoteSettings', () => (ms.limit = streamLimit(session)));
        this.#revocations?.track(session, 'outbound', peerSerial, peerSpiffeId);
        // Opened with an identity that was rotated away meanwhile: do not pool it (waiting callers
        // open another with the new identity).
        if (context === this.#context) {
          const list = this.#ready.get(key);
          if (list === undefined) this.#ready.set(key, [ms]);
          else list.push(ms);
        } else setImmediate(() => session.close());
        this.#logger.log('debug', 'outbound.session.opened', { endpoint: key, peer: peerSpiffeId, streams: ms.limit });
        if (sessionOpenedChannel.hasSubscribers) sessionOpenedChannel.publish({ endpoint: key, peer: peerSpiffeId });
        resolve(ms);
      });
      session.on('error', (err: Error) => {
        if (!connected) {
          clearTimeout(timer);
          if (isTlsFailure(err)) stats.outbound_tls_handshake_failures_total++;
          this.#downUntil.set(key, this.#clock.now() + DOWN_MS);
          reject(
            new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', `cannot reach a sidecar of the service`, {
              message: `connect to ${key} failed: ${err.message}`,
              cause: err,
              fields: { endpoint: key, expected: endpoint.spiffeId },
            }),
          );
          return;
        }
        this.#logger.log('debug', 'outbound.session.error', { endpoint: key, peer: peerSpiffeId, error: err.message });
      });
      session.on('goaway', () => this.#forget(key, session));
      session.once('close', () => {
        clearTimeout(timer);
        // Closed before it was ready (mid-handshake, or before the peer's SETTINGS) with no
        // 'error': settle here (a no-op once settled).
        reject(new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'cannot reach a sidecar of the service', { message: `connection to ${key} closed before it was ready`, fields: { endpoint: key } }));
        this.#forget(key, session);
        this.#all.delete(session);
        if (connected) stats.outbound_sessions_active--;
      });
    });
  }

  #forget(key: string, session: ClientHttp2Session): void {
    const list = this.#ready.get(key);
    if (list === undefined) return;
    const i = list.findIndex((ms) => ms.session === session);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.#ready.delete(key);
  }
}

function selfRevoked(stats: ProxyStats): ProxyError {
  stats.outbound_requests_self_revoked_total++;
  return new ProxyError('WEFT_PROXY_IDENTITY_REVOKED', `${REVOKED_REASON}: this workload's certificate was revoked; enrol it again with a new join token`);
}

function isTlsFailure(err: Error & { code?: string }): boolean {
  return err instanceof ProxyError || (typeof err.code === 'string' && (err.code.startsWith('ERR_SSL') || err.code.includes('CERT') || err.code === 'ERR_TLS_CERT_ALTNAME_INVALID'));
}
