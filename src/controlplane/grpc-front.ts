// The control plane's gRPC port: TLS is terminated here, in front of grpc-js, so that the port has
// the same bounds as every other listener (a connection cap, one deadline from accept to a
// finished handshake, accept errors counted instead of thrown) and so that a connection without a
// verified client certificate is known as such. Those serve only first contact (a join token buys
// an SVID), so they are capped apart and closed after a short lifetime; a caller with an SVID
// reconnects with it. Verified sockets are injected into grpc-js, which reads the peer certificate
// from them as it would from its own TLS server.
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { ServerCredentials, type Server as GrpcServer, type ServiceError } from '@grpc/grpc-js';
import type { Clock } from '../lib/clock.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, rawSocketOf, type ConnectionLimits } from '../lib/connection-guard.js';

/** Bounds of connections that present no verified client certificate. */
export interface UnauthenticatedLimits {
  /** Open at once; past it a new one is closed right after its handshake. */
  readonly maxConnections: number;
  /** How long one may stay open: long enough to sign a first CSR with a join token. */
  readonly lifetimeMs: number;
}

export const DEFAULT_UNAUTHENTICATED_LIMITS: UnauthenticatedLimits = Object.freeze({ maxConnections: 1024, lifetimeMs: 30_000 });

export interface GrpcFrontOptions {
  readonly host: string;
  readonly port: number;
  /** Serving chain and key, and `ca`: the bundle client certificates are verified against. */
  readonly credentials: SecureContextOptions;
  readonly limits?: ConnectionLimits;
  readonly unauthenticated?: UnauthenticatedLimits;
  readonly clock: Clock;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/** What the front refused or cut (`weft status -o json`). */
export interface GrpcFrontStats {
  refused: number;
  timedOut: number;
  acceptErrors: number;
  unauthenticatedActive: number;
  unauthenticatedRefused: number;
  unauthenticatedExpired: number;
}

// === GrpcFront ===

export class GrpcFront {
  readonly port: number;
  readonly stats: GrpcFrontStats;
  readonly #net: NetServer;
  readonly #tls: ReturnType<typeof createTlsServer>;
  readonly #sockets: Set<Socket>;

  private constructor(port: number, net: NetServer, tls: ReturnType<typeof createTlsServer>, sockets: Set<Socket>, stats: GrpcFrontStats) {
    this.port = port;
    this.#net = net;
    this.#tls = tls;
    this.#sockets = sockets;
    this.stats = stats;
  }

  /** Binds `opts.host:opts.port` and serves `server`'s services there; resolves with the bound front. */
  static async listen(server: GrpcServer, opts: GrpcFrontOptions): Promise<GrpcFront> {
    const limits = opts.limits ?? DEFAULT_CONNECTION_LIMITS;
    const unauth = opts.unauthenticated ?? DEFAULT_UNAUTHENTICATED_LIMITS;
    for (const [name, v] of [['maxUnauthenticated', unauth.maxConnections], ['unauthenticatedLifetimeMs', unauth.lifetimeMs]] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`"${name}" must be a positive integer, got ${String(v)}`);
    }
    const log = opts.log ?? (() => undefined);
    const stats: GrpcFrontStats = { refused: 0, timedOut: 0, acceptErrors: 0, unauthenticatedActive: 0, unauthenticatedRefused: 0, unauthenticatedExpired: 0 };
    const guard = new ConnectionGuard('control-plane-grpc', limits, {
      count: (event) => void (event === 'refused' ? stats.refused++ : event === 'timeout' ? stats.timedOut++ : stats.acceptErrors++),
      log: (_level, event, fields) => log(event, fields),
    }, opts.clock);
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    // Certificates are requested, not required: first contact has only a join token.
    const tls = createTlsServer({ ...opts.credentials, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'], handshakeTimeout: limits.handshakeTimeoutMs });
    // A socket handed to tls.Server through emit('connection') is left open after a failed handshake.
    tls.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
    let lastRefusalLog = -Infinity;
    tls.on('secureConnection', (socket: TLSSocket) => {
      guard.settle(rawSocketOf(socket));
      if (!socket.authorized) {
        if (stats.unauthenticatedActive >= unauth.maxConnections) {
          stats.unauthenticatedRefused++;
          const now = opts.clock.now();
          if (now - lastRefusalLog >= 10_000) {
            lastRefusalLog = now;
            log('grpc.connection.refused', { remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: `${unauth.maxConnections} connections without a client certificate are open (--max-unauthenticated-connections)`, refusedSoFar: stats.unauthenticatedRefused });
          }
          socket.destroy();
          return;
        }
        stats.unauthenticatedActive++;
        const timer = setTimeout(() => {
          stats.unauthenticatedExpired++;
          socket.destroy();
        }, unauth.lifetimeMs).unref();
        socket.once('close', () => {
          clearTimeout(timer);
          stats.unauthenticatedActive--;
        });
      }
      injector.injectConnection(socket);
    });
    const sockets = new Set<Socket>();
    const net = createNetServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      guard.arm(socket);
      tls.emit('connection', socket);
    });
    guard.attach(net);
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      net.listen(opts.port, opts.host, () => {
        net.off('error', reject);
        resolve();
      });
    });
    return new GrpcFront((net.address() as { port: number }).port, net, tls, sockets, stats);
  }

  /** New serving certificate (or bundle) for handshakes from now on. */
  setCredentials(credentials: SecureContextOptions): void {
    this.#tls.setSecureContext(credentials);
  }

  /** Stops accepting and closes whatever grpc-js left open. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}

/**
 * Ends a server-streaming or duplex call now with `err`'s status. destroy() would drop the status:
 * grpc-js sends it only from the stream's end, which a destroyed stream never reaches.
 */
export function endCall(call: { emit(event: 'error', err: ServiceError): boolean }, err: ServiceError): void {
  call.emit('error', err);
}
