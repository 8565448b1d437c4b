// Outbound stage 3: one pooled HTTP/2-over-mTLS session per peer sidecar, many streams on it.
// A session is usable only after the handshake verified the server's chain (OpenSSL, our
// bundle) and its X.509-SVID leaf (checkServerIdentity): nothing is sent to an unverified peer.
import { connect as connectH2, type ClientHttp2Session } from 'node:http2';
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

/** A verified session to one peer sidecar. */
export interface MeshSession {
  readonly key: string;
  readonly session: ClientHttp2Session;
  /** The SPIFFE ID the server proved in its handshake. */
  readonly peerSpiffeId: string;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** How long an endpoint that refused a connection is passed over by the balancer. */
const DOWN_MS = 5_000;
const IDLE_TIMEOUT_MS = 300_000;

const keys = new WeakMap<Endpoint, string>();

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
  readonly #ready = new Map<string, MeshSession>();
  readonly #connecting = new Map<string, Promise<MeshSession>>();
  /** Every open session, pooled or retired, for drain. */
  readonly #all = new Set<ClientHttp2Session>();
  /** Endpoints whose last connect failed, until when (clock ms): passive health checking. */
  readonly #downUntil = new Map<string, number>();
  readonly #stats: ProxyStats;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #revocations: Revocations | undefined;
  #verifier: PeerVerifier;
  #context: SecureContext;

  constructor(opts: { identity: SidecarIdentity; stats: ProxyStats; logger: Logger; clock: Clock; revocations?: Revocations }) {
    this.#clock = opts.clock;
    this.#revocations = opts.revocations;
    this.#verifier = new PeerVerifier(opts.identity, opts.clock, opts.revocations);
    this.#context = createClientContext(opts.identity);
    this.#stats = opts.stats;
    this.#logger = opts.logger;
  }

  /** The pooled, verified session for `key`, if one is ready for new streams. */
  get(key: string): MeshSession | undefined {
    const ms = this.#ready.get(key);
    if (ms === undefined) return undefined;
    if (ms.session.closed || ms.session.destroyed) {
      this.#ready.delete(key);
      return undefined;
    }
    return ms;
  }

  /** Opens (or joins the opening of) a session to `endpoint`. */
  connect(endpoint: Endpoint, key: string): Promise<MeshSession> {
    if (this.#revocations?.selfRevoked === true) return Promise.reject(selfRevoked(this.#stats));
    let pending = this.#connecting.get(key);
    if (pending === undefined) {
      pending = this.#open(endpoint, key);
      this.#connecting.set(key, pending);
      const clear = (): void => void this.#connecting.delete(key);
      pending.then(clear, clear);
    }
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
    if (this.#ready.get(ms.key) === ms) this.#ready.delete(ms.key);
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
    for (const ms of this.#ready.values()) ms.session.close();
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
        clearTimeout(timer);
        stats.outbound_tls_handshakes_total++;
        stats.outbound_sessions_opened_total++;
        stats.outbound_sessions_active++;
        if (socket?.alpnProtocol !== MESH_ALPN) {
          session.destroy();
          reject(new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'peer sidecar does not speak h2', { fields: { endpoint: key } }));
          return;
        }
        session.setLocalWindowSize(MESH_CONNECTION_WINDOW);
        session.setTimeout(IDLE_TIMEOUT_MS, () => session.close());
        this.#downUntil.delete(key);
        const ms: MeshSession = { key, session, peerSpiffeId };
        this.#revocations?.track(session, 'outbound', peerSerial, peerSpiffeId);
        // Opened with an identity that was rotated away meanwhile: serve the requests waiting for
        // it, but do not pool it (closed once they are done).
        if (context === this.#context) this.#ready.set(key, ms);
        else setImmediate(() => session.close());
        this.#logger.log('debug', 'outbound.session.opened', { endpoint: key, peer: peerSpiffeId });
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
        // Closed cleanly mid-handshake: no 'error' came, so settle here (a no-op once settled).
        if (!connected) reject(new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'cannot reach a sidecar of the service', { message: `connection to ${key} closed before it was ready`, fields: { endpoint: key } }));
        this.#forget(key, session);
        this.#all.delete(session);
        if (connected) stats.outbound_sessions_active--;
      });
    });
  }

  #forget(key: string, session: ClientHttp2Session): void {
    if (this.#ready.get(key)?.session === session) this.#ready.delete(key);
  }
}

function selfRevoked(stats: ProxyStats): ProxyError {
  stats.outbound_requests_self_revoked_total++;
  return new ProxyError('WEFT_PROXY_IDENTITY_REVOKED', `${REVOKED_REASON}: this workload's certificate was revoked; enrol it again with a new join token`);
}

function isTlsFailure(err: Error & { code?: string }): boolean {
  return err instanceof ProxyError || (typeof err.code === 'string' && (err.code.startsWith('ERR_SSL') || err.code.includes('CERT') || err.code === 'ERR_TLS_CERT_ALTNAME_INVALID'));
}
