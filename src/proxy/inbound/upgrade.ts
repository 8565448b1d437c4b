// Inbound upgrades: a peer sidecar carries an app's HTTP/1.1 upgrade (WebSocket, or any other
// `Upgrade` token) as an RFC 8441 extended CONNECT stream. By the time it gets here it was read
// and authorized as the GET it stands for (forward.ts), so a denied upgrade never opened a
// connection to the app. The app gets the decided request plus `Connection: upgrade` / `Upgrade:
// <token>` on a fresh connection of its own (an upgraded connection is never pooled), and:
//   - 101 for the token asked: the stream is answered 200 with the app's headers, then bytes flow
//     both ways, an end on one side ending the other (half-close), a reset destroying both;
//   - 101 for anything else: refused (502, WEFT_PROXY_UPGRADE_FAILED), the app's socket closed;
//   - any other answer: relayed as a normal response (status, headers, body).
// The app's 101 head is read by node:http's parser, so a head that never ends is cut at its
// header-size limit like any other.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { constants as h2c, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { h1ToH2Headers } from '../hop-headers.js';
import { rescueH2 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { HostPort } from '../types.js';
import { toAppRequest, type InboundRequest } from './request.js';

/** A `:protocol` value weft carries: one upgrade token, `name[/version]` (RFC 9110 §7.8). */
export const PROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+)?$/;

/** The upgrade request as policy and the app see it: the GET it stands for (RFC 8441 §5). */
export function asUpgradeRequest(request: InboundRequest): InboundRequest {
  return { ...request, method: 'GET' };
}

/** Sends the decided upgrade request to the app and splices the stream to it once it switched. */
export function relayUpgrade(app: HostPort, stats: ProxyStats, logger: Logger, emitErrorHeaders: boolean, stream: ServerHttp2Stream, request: InboundRequest, token: string, peer: string): void {
  const sent = toAppRequest(request);
  sent.headers.push('connection', 'upgrade', 'upgrade', token);
  stats.inbound_upgrades_total++;
  let settled = false;
  let appSocket: Socket | undefined;
  const fail = (err: ProxyError): void => {
    if (settled) return;
    settled = true;
    stats.inbound_upgrades_refused_total++;
    rescueH2(stream, err, logger, emitErrorHeaders, { peer, method: 'GET', path: sent.path, upgrade: token }, stats);
  };
  stream.on('error', () => undefined);
  const req = httpRequest({ host: app.host, port: app.port, method: 'GET', path: sent.path, headers: sent.headers, setHost: false, agent: false });
  req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    if (settled || stream.destroyed || stream.closed) return void socket.destroy();
    if ((res.headers.upgrade ?? '').trim().toLowerCase() !== token.toLowerCase()) {
      socket.destroy();
      return fail(new ProxyError('WEFT_PROXY_UPGRADE_FAILED', 'the app switched to a protocol other than the one asked', { message: `asked ${token}, app answered upgrade: ${String(res.headers.upgrade)}` }));
    }
    let h2;
    try {
      h2 = h1ToH2Headers(res.headers, { ':status': 200 });
      stream.respond(h2);
    } catch (err) {
      socket.destroy();
      return fail(new ProxyError('WEFT_PROXY_UPGRADE_FAILED', 'the app switched with headers HTTP/2 cannot carry', { cause: err }));
    }
    settled = true;
    appSocket = socket;
    stats.inbound_upgrades_active++;
    // Half-close: the app's FIN ends the stream, and the stream's end only ends our write side.
    socket.allowHalfOpen = true;
    if (head.length > 0) stream.write(head);
    socket.pipe(stream);
    stream.pipe(socket);
    socket.once('close', () => {
      stats.inbound_upgrades_active--;
      if (!stream.destroyed && !(socket.readableEnded && stream.writableEnded)) stream.close(h2c.NGHTTP2_CANCEL);
    });
  });
  req.on('response', (res: IncomingMessage) => {
    if (settled || stream.destroyed || stream.closed) return void res.destroy();
    settled = true;
    stats.inbound_upgrades_refused_total++;
    const status = res.statusCode ?? 502;
    const noBody = status === 204 || status === 304 || res.headers['content-length'] === '0';
    try {
      stream.respond(h1ToH2Headers(res.headers, { ':status': status }), { endStream: noBody });
    } catch (err) {
      res.destroy();
      settled = false;
      return fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'app response headers cannot be relayed over HTTP/2', { cause: err }));
    }
    if (noBody) return void res.resume();
    res.pipe(stream);
    res.once('error', () => stream.close(h2c.NGHTTP2_INTERNAL_ERROR));
  });
  req.on('error', (err: Error & { code?: string }) => {
    if (settled) return;
    const unreachable = err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET';
    fail(
      new ProxyError(unreachable ? 'WEFT_PROXY_APP_UNAVAILABLE' : 'WEFT_PROXY_UPGRADE_FAILED', unreachable ? 'app unavailable' : 'the app did not answer the upgrade in HTTP/1.1', {
        message: `app ${app.host}:${app.port}: ${err.message}`,
        cause: err,
      }),
    );
  });
  stream.once('close', () => {
    if (appSocket === undefined) req.destroy();
    else if (stream.rstCode !== h2c.NGHTTP2_NO_ERROR) appSocket.destroy();
    else if (!appSocket.writableEnded) appSocket.end();
  });
  req.end();
}
