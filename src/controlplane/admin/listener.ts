// One admin port, two protocols: plain HTTP for health and readiness probes (which carry no
// credentials), TLS for the admin API. The first byte tells them apart (a TLS record starts with
// 0x16, an HTTP request with a method letter), so probes and operators share one address.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { systemClock } from '../../lib/clock.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, rawSocketOf, type ConnectionLimits } from '../../lib/connection-guard.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

const TLS_HANDSHAKE = 0x16;

/** What the admin listener refused or cut, for `weft status -o json`. */
export interface AdminListenerStats {
  refused: number;
  timedOut: number;
  acceptErrors: number;
}

export interface AdminListener {
  readonly port: number;
  /** New serving certificate for connections from now on. */
  setCredentials(credentials: SecureContextOptions): void;
  close(): Promise<void>;
  readonly stats: Readonly<AdminListenerStats>;
}

export interface AdminListenOptions {
  readonly limits?: ConnectionLimits;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * Binds the admin port. Every connection must finish its TLS handshake and send its first
 * request head (or, in plain HTTP, the head) within the handshake timeout; at most
 * `limits.maxConnections` are open at once.
 */
export async function listenAdmin(host: string, port: number, credentials: SecureContextOptions, handler: AdminHandler, opts: AdminListenOptions = {}): Promise<AdminListener> {
  const limits = opts.limits ?? DEFAULT_CONNECTION_LIMITS;
  const stats: AdminListenerStats = { refused: 0, timedOut: 0, acceptErrors: 0 };
  const guard = new ConnectionGuard('control-plane-admin', limits, {
    count: (event) => void (event === 'refused' ? stats.refused++ : event === 'timeout' ? stats.timedOut++ : stats.acceptErrors++),
    log: (_level, event, fields) => opts.log?.(event, fields),
  }, systemClock);
  const http = createHttpServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, handler);
  http.on('request', (req: IncomingMessage) => guard.settle(rawSocketOf(req.socket)));
  // Client certificates are asked for but not required: an operator may use the admin token instead.
  const tls = createTlsServer({ ...credentials, requestCert: true, rejectUnauthorized: false, handshakeTimeout: limits.handshakeTimeoutMs });
  tls.on('secureConnection', (socket: TLSSocket) => http.emit('connection', socket));
  tls.on('tlsClientError', (_err, socket) => socket.destroy());
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // One deadline from accept to the first request head, over TLS or not.
    guard.arm(socket);
    socket.on('error', () => undefined);
    socket.once('readable', () => {
      const head = socket.read(1) as Buffer | null;
      if (head === null) return void socket.destroy();
      socket.unshift(head);
      if (head[0] === TLS_HANDSHAKE) tls.emit('connection', socket);
      else http.emit('connection', socket);
    });
  });
  guard.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    stats,
    setCredentials: (next) => tls.setSecureContext(next),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http.closeIdleConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
