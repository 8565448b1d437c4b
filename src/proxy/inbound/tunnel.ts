// Inbound TCP: a peer sidecar carries one TCP connection of its app as an HTTP/2 CONNECT stream
// (RFC 9113 §8.5) on the mTLS session. AuthorizationPolicy decides on the connection's facts
// before anything else happens; a refused tunnel is answered 403 and no connection to the app is
// ever opened, so the app sees no byte of it.
import type { ServerHttp2Stream } from 'node:http2';
import { connect, type Socket } from 'node:net';
import type { Logger } from '../../telemetry/logger.js';
import type { ProxyStats } from '../stats.js';
import type { HostPort } from '../types.js';
import { authorizeConnection, type InboundConnectionFacts, type InboundPolicy } from './authorize.js';

/** Answers a CONNECT stream: authorize, then splice it to a fresh connection to the app. */
export function relayTunnel(
  stream: ServerHttp2Stream,
  app: HostPort,
  policy: InboundPolicy | undefined,
  conn: InboundConnectionFacts,
  stats: ProxyStats,
  logger: Logger,
): void {
  stream.on('error', () => undefined);
  if (policy !== undefined && !authorizeConnection(policy, conn, app.port, logger)) {
    stats.inbound_tcp_connections_denied_total++;
    stream.respond({ ':status': 403 }, { endStream: true });
    return;
  }
  stats.inbound_tcp_connections_total++;
  stats.inbound_tcp_connections_active++;
  const socket: Socket = connect({ host: app.host, port: app.port, noDelay: true });
  let opened = false;
  socket.once('connect', () => {
    opened = true;
    if (stream.destroyed) return void socket.destroy();
    stream.respond({ ':status': 200 });
    stream.pipe(socket);
    socket.pipe(stream);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (!opened) {
      logger.log('warn', 'inbound.tcp.app_unreachable', { peer: conn.peerSpiffeId ?? null, app: `${app.host}:${app.port}`, error: err.code ?? err.message });
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ':status': 503 }, { endStream: true });
    } else stream.close();
  });
  socket.once('close', () => {
    stats.inbound_tcp_connections_active--;
    if (!stream.destroyed && !stream.writableEnded) stream.end();
  });
  // The peer reset or lost the session: the app's connection goes with it.
  stream.once('close', () => socket.destroy());
}
