// Outbound upgrades: an HTTP/1.1 request with `Connection: upgrade` / `Upgrade: <token>` (a
// WebSocket handshake, or any other protocol token) is carried to a sidecar of the service as an
// RFC 8441 extended CONNECT stream (`:method CONNECT`, `:protocol <token>`, the request's own path
// and end-to-end headers), as Envoy carries WebSocket over HTTP/2. The serving sidecar decides
// policy on it as on a GET and asks its app; only when the app switched (the stream's 200) does
// the calling app get `101 Switching Protocols`, with the app's headers, and the bytes then flow
// both ways with half-close. Any other answer reaches the calling app as a normal response, after
// which the connection closes: it was promised to the upgrade. An `Upgrade: h2c` offer is declined
// as RFC 9113 §3.1 asks of an HTTP/2-only hop: the request is served as plain HTTP/1.1.
import { ServerResponse, type IncomingMessage } from 'node:http';
import { constants as h2c, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { ProxyError } from '../errors.js';
import { distinctFields, h1ToH2Headers, h2ToH1Headers } from '../hop-headers.js';
import { rescueH1 } from '../rescue.js';
import type { ServiceEntry } from '../types.js';
import type { OutboundContext } from './forward.js';
import type { MeshSession } from './pool.js';
import { parseTarget, type Target } from './route.js';
import { openPeerStream, type TunnelContext } from './tunnel.js';

/** Bytes a caller may send ahead of the 101 (a client speaking first); more closes its connection. */
const MAX_EARLY_BYTES = 64 * 1024;

/** `protocol-name ["/" protocol-version]` (RFC 9110 §7.8), one of them. */
const UPGRADE_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+)?$/;

/** The one protocol an `Upgrade` value asks for, or why it cannot be carried. */
export function upgradeToken(value: string | undefined): { token: string } | { reason: string } {
  const text = (value ?? '').trim();
  if (text.length === 0) return { reason: 'the upgrade request names no protocol' };
  if (text.includes(',')) return { reason: 'the upgrade request offers more than one protocol; one is carried' };
  if (!UPGRADE_TOKEN.test(text)) return { reason: 'the Upgrade header is not a protocol token' };
  return { token: text };
}

/** A response written on a connection node:http handed over for the upgrade; it closes after. */
function responseOn(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    res.detachSocket(socket);
    // The listener's sockets are half-open capable and this one is no longer read: close it outright.
    socket.destroySoon();
  });
  return res;
}

/**
 * Handles one 'upgrade' event of the outbound listener; never throws (every failure is an HTTP
 * answer on `socket`). `serve` runs an ordinary request (for a declined h2c offer).
 */
export async function openUpgrade(
  ctx: TunnelContext,
  requests: OutboundContext,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<void> {
  socket.on('error', () => undefined);
  const stats = ctx.stats;
  // Bytes after the head (`head`) belong to the new protocol, sent early; a framed body does not.
  const bodyless = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
  if (/^\s*h2c\s*$/i.test(req.headers.upgrade ?? '') && bodyless && head.length === 0) return serve(req, responseOn(req, socket));
  stats.outbound_upgrades_total++;
  const fail = (err: ProxyError, fields: Record<string, unknown> = {}): void => {
    stats.outbound_upgrades_failed_total++;
    if (err.code === 'WEFT_PROXY_BAD_REQUEST') stats.outbound_requests_bad_request_total++;
    else if (err.code === 'WEFT_PROXY_UNKNOWN_SERVICE') stats.outbound_requests_unknown_service_total++;
    rescueH1(responseOn(req, socket), err, ctx.logger, requests.emitErrorHeaders, { upgrade: req.headers.upgrade ?? null, url: req.url, ...fields }, stats);
  };
  const asked = upgradeToken(req.headers.upgrade);
  if ('reason' in asked) return fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', asked.reason));
  // RFC 8441 carries the upgrade in place of a GET; a body would be read as the new protocol's bytes.
  if (req.method !== 'GET') return fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', `an upgrade is carried on GET only, not ${req.method}`));
  if (!bodyless) return fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', 'an upgrade request carries no body'));
  let target: Target;
  let entry: ServiceEntry | undefined;
  try {
    target = parseTarget(req.url ?? '/', req.headers.host, ctx.clusterSuffix);
    entry = ctx.directory.lookup(target.service, target.namespace);
    if (entry === undefined) throw new ProxyError('WEFT_PROXY_UNKNOWN_SERVICE', `unknown service "${target.service}.${target.namespace}"`);
  } catch (err) {
    return fail(err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_BAD_REQUEST', 'the upgrade request cannot be routed', { cause: err }));
  }
  const headers = h1ToH2Headers(distinctFields(req.headers, () => req.headersDistinct), {
    ':method': 'CONNECT',
    ':protocol': asked.token,
    ':path': target.path,
    ':authority': target.authority,
    ':scheme': 'http',
  });
  // A peer that never offered extended CONNECT would see a malformed stream: not sent at all.
  const noUpgrades = (ms: MeshSession): ProxyError | undefined =>
    ms.session.remoteSettings.enableConnectProtocol === true ? undefined : new ProxyError('WEFT_PROXY_UPGRADE_FAILED', 'the peer sidecar does not accept upgrades (no SETTINGS_ENABLE_CONNECT_PROTOCOL)');
  const opened = await openPeerStream(ctx, entry, target, socket, headers, { endStream: false }, noUpgrades);
  if (opened === undefined) return;
  if ('error' in opened) return fail(opened.error, opened.key === undefined ? {} : { endpoint: opened.key });
  switched(ctx, req, opened.stream, socket, head, asked.token, fail);
}

/** Waits for the peer's answer: 200 switches the app's connection, anything else is relayed as is. */
function switched(
  ctx: TunnelContext,
  req: IncomingMessage,
  stream: ClientHttp2Stream,
  socket: Socket,
  head: Buffer,
  token: string,
  fail: (err: ProxyError) => void,
): void {
  const stats = ctx.stats;
  let state: 'waiting' | 'relayed' | 'open' = 'waiting';
  stream.on('error', () => undefined);
  // Read while waiting, or a caller that hangs up would go unnoticed until the peer answered; the
  // few bytes a client may send ahead of the switch are kept (bounded) and sent after it.
  let early = head;
  const onEarly = (chunk: Buffer): void => {
    early = Buffer.concat([early, chunk]);
    if (early.length > MAX_EARLY_BYTES) socket.destroy();
  };
  socket.on('data', onEarly);
  // The listener's sockets are half-open capable: an end before the switch is a caller gone.
  const onEarlyEnd = (): void => void socket.destroy();
  socket.once('end', onEarlyEnd);
  stream.once('response', (headers: IncomingHttpHeaders, flags: number) => {
    const status = Number(headers[':status']);
    if (status !== 200) {
      socket.off('data', onEarly);
      socket.off('end', onEarlyEnd);
      state = 'relayed';
      stats.outbound_upgrades_failed_total++;
      const res = responseOn(req, socket);
      res.writeHead(status, h2ToH1Headers(headers, [], false));
      if ((flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0) res.end();
      else stream.pipe(res);
      return;
    }
    socket.off('data', onEarly);
    socket.off('end', onEarlyEnd);
    socket.pause();
    state = 'open';
    stats.outbound_upgrades_active++;
    let head101 = `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${token}\r\n`;
    const lines = h2ToH1Headers(headers, [], false);
    for (let i = 0; i < lines.length; i += 2) head101 += `${lines[i]}: ${lines[i + 1]}\r\n`;
    socket.write(`${head101}\r\n`);
    if (early.length > 0) stream.write(early);
    socket.pipe(stream);
    stream.pipe(socket);
  });
  socket.once('close', () => {
    if (state === 'open') stats.outbound_upgrades_active--;
    // The app went away without a FIN of its own (a reset, or close before the switch).
    if (!stream.destroyed && !(socket.readableEnded && stream.writableEnded)) stream.close(h2c.NGHTTP2_CANCEL);
  });
  stream.once('close', () => {
    if (state === 'waiting') {
      if (!socket.destroyed) fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar reset the upgrade', { message: `upgrade stream reset (code ${stream.rstCode})` }));
      return;
    }
    if (stream.rstCode !== h2c.NGHTTP2_NO_ERROR) socket.destroy();
    else if (state === 'open' && !socket.writableEnded) socket.end();
  });
}
