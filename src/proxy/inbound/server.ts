// Inbound stage 1: accept mTLS from other sidecars. OpenSSL verifies the chain against our
// bundle; the peer must be `authorized` by it, then pass the X.509-SVID leaf rules and have
// negotiated h2. Only then is the socket handed to an HTTP/2 session (a plaintext h2 server fed
// the TLS socket): a refused peer never gets a session, so not a byte of its reaches the app.
// The first byte of a connection tells TLS (0x16) from plaintext; plaintext is served only while
// PeerAuthentication puts the port in PERMISSIVE or DISABLE, and closed unanswered under STRICT.
import { createServer as createH2Server, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Clock } from '../../lib/clock.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, rawSocketOf, type ConnectionLimits } from '../../lib/connection-guard.js';
import type { InboundConnectionFacts } from './authorize.js';
import type { Logger } from '../../telemetry/logger.js';
import { inboundRefusedChannel, type InboundRefusedMessage } from '../diagnostics.js';
import { ProxyError } from '../errors.js';
import { PeerVerifier } from '../peer-identity.js';
import type { Revocations } from '../revocations.js';
import type { ProxyStats } from '../stats.js';
import { MESH_ALPN, serverContextOptions, serverTlsOptions } from '../tls-contexts.js';
import type { SidecarIdentity } from '../types.js';
import { DEFAULT_KEEPALIVE_INTERVAL_MS, watchSessionLiveness } from '../session-liveness.js';
import { xfccValue } from './xfcc.js';

/** What the request stages need to know about the connection a stream arrived on. */
export interface InboundConnection {
  readonly peerSpiffeId: string;
  /** The peer leaf's serial: its sessions close when a snapshot revokes it. */
  readonly peerSerial?: string;
  /** The x-forwarded-client-cert value for every request of this connection. */
  readonly xfcc: string;
  /** What policy reads of the connection, worked out by the first request that needs it. */
  facts?: InboundConnectionFacts;
}

/** `rawHeaders`: the header list as received, every repeated field included. */
export type InboundStreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, conn: InboundConnection, rawHeaders: readonly string[]) => void;

const kConn = Symbol('weft.inbound.connection');
type Tagged = { [kConn]?: InboundConnection };

/** HTTP/2 settings of the mesh hop: room for bulk bodies without unbounded buffering. */
export const MESH_H2_SETTINGS = { initialWindowSize: 256 * 1024, maxConcurrentStreams: 1000 } as const;
/** Connection-level receive window; streams are still paced by their own windows. */
export const MESH_CONNECTION_WINDOW = 16 << 20;
/** A session with no frames but PINGs for this long is closed gracefully. */
const SESSION_IDLE_MS = 600_000;

// === InboundListener ===

/** The mTLS listener; see the file header. */
export class InboundListener {
  readonly #net: NetServer;
  readonly #tls: TlsServer;
  readonly #h2: Http2Server;
  readonly #plain: HttpServer | undefined;
  readonly #acceptPlaintext: () => boolean;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #sockets = new Set<Socket>();
  readonly #stats: ProxyStats;
  readonly #logger: Logger;
  readonly #verifier: PeerVerifier;
  readonly #revocations: Revocations | undefined;
  readonly #guard: ConnectionGuard;
  readonly #keepaliveMs: number;
  #identity: SidecarIdentity;
  #draining = false;

  constructor(opts: {
    identity: SidecarIdentity;
    stats: ProxyStats;
    logger: Logger;
    clock: Clock;
    onStream: InboundStreamHandler;
    /** Whether a plaintext client may be served now (PERMISSIVE/DISABLE); absent: never. */
    acceptPlaintext?: () => boolean;
    onPlainRequest?: (req: IncomingMessage, res: ServerResponse) => void;
    revocations?: Revocations;
    /** Connection cap and handshake deadline of this listener (the sniffed first byte, TLS, or a plaintext head). */
    limits?: ConnectionLimits;
    /** Streams a peer may open at once on one session (advertised in SETTINGS). */
    maxStreamsPerSession?: number;
    /** See session-liveness.ts. */
    keepaliveIntervalMs?: number;
  }) {
    const limits = opts.limits ?? DEFAULT_CONNECTION_LIMITS;
    this.#identity = opts.identity;
    this.#acceptPlaintext = opts.acceptPlaintext ?? (() => false);
    this.#plain = opts.onPlainRequest === undefined ? undefined : createHttpServer({ requestTimeout: 0, headersTimeout: 30_000 }, opts.onPlainRequest);
    this.#net = createNetServer({ noDelay: true }, (socket) => this.#sniff(socket));
    this.#stats = opts.stats;
    this.#logger = opts.logger;
    this.#revocations = opts.revocations;
    this.#keepaliveMs = opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    const stats = opts.stats;
    this.#guard = new ConnectionGuard('inbound', limits, {
      count: (event) => void (event === 'refused' ? stats.inbound_connections_refused_total++ : event === 'timeout' ? stats.inbound_handshake_timeouts_total++ : stats.inbound_accept_errors_total++),
      log: (level, event, fields) => opts.logger.log(level, event, fields),
    }, opts.clock);
    this.#guard.attach(this.#net);
    this.#plain?.on('request', (req: IncomingMessage) => this.#guard.settle(req.socket));
    this.#verifier = new PeerVerifier(opts.identity, opts.clock, opts.revocations);
    // `noDelay` is net.Server's option, which tls.Server passes on; @types/node lacks it there.
    this.#tls = createTlsServer({ ...serverTlsOptions(opts.identity), handshakeTimeout: limits.handshakeTimeoutMs, noDelay: true } as object);
    // enableConnectProtocol: RFC 8441 extended CONNECT, how a peer carries an app's upgrade
    // (inbound/upgrade.ts); without it nghttp2 refuses any stream with `:protocol`.
    const settings = { ...MESH_H2_SETTINGS, maxConcurrentStreams: opts.maxStreamsPerSession ?? MESH_H2_SETTINGS.maxConcurrentStreams, enableConnectProtocol: true };
    this.#h2 = createH2Server({ settings, maxSessionMemory: 64 });
    this.#tls.on('connection', (socket: Socket) => this.#onConnection(socket));
    this.#tls.on('secureConnection', (socket: TLSSocket) => this.#onSecureConnection(socket));
    this.#tls.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      this.#stats.inbound_tls_handshake_failures_total++;
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      this.#logger.log('info', 'inbound.tls.failed', { remote, error: err.message });
      if (inboundRefusedChannel.hasSubscribers) inboundRefusedChannel.publish({ stage: 'tls', remote, reason: err.message } satisfies InboundRefusedMessage);
      // Node leaves a socket handed in through emit('connection') open after a failed or timed-out
      // handshake; left so, each one would hold a descriptor for good.
      socket.destroy();
    });
    this.#h2.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    const onStream = opts.onStream;
    this.#h2.on('stream', function (this: Http2Server, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) {
      onStream(stream, headers, flags, (stream.session as unknown as Tagged)[kConn]!, rawHeaders);
    });
  }

  /** Binds; resolves with the port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(port, host, () => {
        this.#net.off('error', reject);
        resolve((this.#net.address() as { port: number }).port);
      });
    });
  }

  /** New handshakes present the new certificate and trust the new bundle; live sessions go on. */
  updateIdentity(identity: SidecarIdentity): void {
    this.#verifier.update(identity);
    this.#tls.setSecureContext(serverContextOptions(identity));
    this.#identity = identity;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting, sends GOAWAY on every session (streams already open finish), waits until
   * they close or `deadline` (a promise) settles, then destroys whatever is left.
   */
  async drain(deadline: Promise<void>): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    this.#plain?.closeIdleConnections();
    for (const s of this.#sessions) s.close();
    await Promise.race([closed, deadline]);
    for (const s of this.#sessions) s.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** TLS or plaintext, by the first byte; a plaintext client on a STRICT port is closed unanswered. */
  #sniff(socket: Socket): void {
    // The deadline runs from accept to a verified handshake (or a plaintext request head), not
    // per byte: a peer trickling a ClientHello cannot keep it open.
    this.#guard.arm(socket);
    socket.on('error', () => undefined);
    socket.once('readable', () => {
      const head = socket.read(1) as Buffer | null;
      if (head === null) return void socket.destroy();
      socket.unshift(head);
      if (head[0] === 0x16) {
        this.#tls.emit('connection', socket);
      } else if (this.#plain !== undefined && !this.#draining && this.#acceptPlaintext()) {
        this.#onConnection(socket);
        this.#plain.emit('connection', socket);
      } else {
        this.#stats.inbound_plaintext_refused_total++;
        this.#logger.log('info', 'inbound.plaintext.refused', { remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: 'mTLS mode STRICT: plaintext is not accepted on this port' });
        socket.destroy();
      }
    });
  }

  #onConnection(socket: Socket): void {
    const stats = this.#stats;
    stats.inbound_connections_total++;
    stats.inbound_connections_active++;
    this.#sockets.add(socket);
    socket.once('close', () => {
      stats.inbound_connections_active--;
      this.#sockets.delete(socket);
    });
  }

  #onSecureConnection(socket: TLSSocket): void {
    this.#guard.settle(rawSocketOf(socket));
    this.#stats.inbound_tls_handshakes_total++;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.#draining) {
      socket.destroy();
      return;
    }
    let conn: InboundConnection;
    try {
      const peer = this.#verifier.verifyClient(socket);
      if (socket.alpnProtocol !== MESH_ALPN) {
        this.#refuse(socket, remote, 'alpn', `peer did not negotiate ${MESH_ALPN} (ALPN ${String(socket.alpnProtocol)})`, peer.spiffeId);
        return;
      }
      conn = { peerSpiffeId: peer.spiffeId, peerSerial: peer.serial, xfcc: xfccValue(this.#identity.spiffeId, peer) };
    } catch (err) {
      const given = err instanceof ProxyError ? err.fields.stage : undefined;
      const stage = given === 'chain' || given === 'revoked' ? given : 'svid';
      if (stage === 'revoked') this.#revocations?.refused('inbound', String((err as ProxyError).fields.serial), String((err as ProxyError).fields.peer));
      this.#refuse(socket, remote, stage, (err as Error).message, undefined);
      return;
    }
    (socket as Tagged)[kConn] = conn;
    this.#logger.log('debug', 'inbound.peer.accepted', { remote, peer: conn.peerSpiffeId });
    this.#h2.emit('connection', socket);
  }

  #refuse(socket: TLSSocket, remote: string, stage: InboundRefusedMessage['stage'], reason: string, peer: string | undefined): void {
    this.#stats.inbound_peer_refused_total++;
    this.#logger.log('warn', 'inbound.peer.refused', { remote, stage, reason, ...(peer ? { peer } : {}) });
    socket.destroy();
    if (inboundRefusedChannel.hasSubscribers) inboundRefusedChannel.publish({ stage, remote, reason, ...(peer ? { peer } : {}) } satisfies InboundRefusedMessage);
  }

  #onSession(session: ServerHttp2Session): void {
    const conn = (session.socket as unknown as Tagged)[kConn];
    (session as unknown as Tagged)[kConn] = conn;
    this.#sessions.add(session);
    this.#revocations?.track(session, 'inbound', conn?.peerSerial ?? '', conn?.peerSpiffeId ?? '');
    this.#stats.inbound_sessions_active++;
    session.setLocalWindowSize(MESH_CONNECTION_WINDOW);
    watchSessionLiveness(session, {
      interval: this.#keepaliveMs,
      idleClose: SESSION_IDLE_MS,
      onDead: () => {
        this.#stats.inbound_sessions_unresponsive_total++;
        this.#logger.log('info', 'inbound.session.unresponsive', { peer: conn?.peerSpiffeId, reason: `no answer to a PING within ${this.#keepaliveMs} ms` });
      },
    });
    session.on('error', (err: Error) => this.#logger.log('debug', 'inbound.session.error', { peer: conn?.peerSpiffeId, error: err.message }));
    session.once('close', () => {
      this.#sessions.delete(session);
      this.#stats.inbound_sessions_active--;
    });
  }
}
