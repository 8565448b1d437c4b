// Outbound TCP: the app asks its explicit proxy for `CONNECT SERVICE.NAMESPACE:PORT` (what
// HTTPS_PROXY clients, `curl -p` and `nc -X connect` send) and the connection is carried to a
// sidecar of the service as an HTTP/2 CONNECT stream over the same verified mTLS sessions as HTTP,
// with the same secure naming. The app's `200 Connection Established` comes only once the peer
// sidecar has authorized the connection and reached its app; a refusal is its answer instead.
import type { IncomingMessage } from 'node:http';
import { constants as h2c, type ClientHttp2Stream, type ClientSessionRequestOptions, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError, RESPONSE_FLAG_OF } from '../errors.js';
import { PROXY_ERROR_HEADER, proxyErrorValue, responseFlagOf } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { Endpoint, ServiceDirectory, ServiceEntry } from '../types.js';
import { externalHostOf, tunnelExternal, type EgressContext, type OutboundTrafficMode } from './egress.js';
import { endpointKey, type MeshSession, type SessionPool } from './pool.js';
import { checkServicePort, parseTarget, type RoundRobin, type Target } from './route.js';
import { secureNamingError } from './secure-naming.js';
import { sniffTunnel } from './h2-listener.js';

const MAX_ATTEMPTS = 3;

export interface TunnelContext {
  readonly directory: ServiceDirectory;
  readonly pool: SessionPool;
  readonly balancer: RoundRobin;
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly clusterSuffix: string;
  readonly egress: EgressContext;
  readonly egressMode: () => OutboundTrafficMode;
  /** Serves a tunnel whose first bytes were the HTTP/2 preface (h2-listener.ts); absent: every tunnel is TCP. */
  readonly serveH2?: (socket: Socket, authority: string) => void;
}

/** Handles one CONNECT from the app; never throws (every failure is an HTTP answer on `socket`). */
export async function openTunnel(ctx: TunnelContext, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  socket.on('error', () => undefined);
  let target: Target;
  let entry: ServiceEntry | undefined;
  try {
    if (!/^[^/?#@\s]+:\d{1,5}$/.test(req.url ?? '')) throw new ProxyError('WEFT_PROXY_BAD_REQUEST', 'CONNECT needs an authority-form target, SERVICE.NAMESPACE:PORT');
    target = parseTarget(`http://${req.url}/`, undefined, ctx.clusterSuffix);
    entry = ctx.directory.lookup(target.service, target.namespace);
    if (entry === undefined) throw new ProxyError('WEFT_PROXY_UNKNOWN_SERVICE', `unknown service "${target.service}.${target.namespace}"`);
    checkServicePort(entry, target);
  } catch (err) {
    const code = err instanceof ProxyError ? err.code : undefined;
    const ext = code === 'WEFT_PROXY_UNKNOWN_SERVICE' ? externalHostOf(req.url!, ctx.clusterSuffix, ctx.directory, 443) : undefined;
    if (ext !== undefined) {
      return tunnelExternal(ctx.egress, ctx.egressMode(), socket, head, ext, (status, body, e) => {
        ctx.stats.outbound_tcp_connections_failed_total++;
        ctx.stats.countFlag(RESPONSE_FLAG_OF[e.code]);
        answer(socket, status, body, proxyErrorValue({ flag: RESPONSE_FLAG_OF[e.code], code: e.code, reason: e.reason }));
      });
    }
    return refuse(ctx, socket, code === 'WEFT_PROXY_UNKNOWN_SERVICE' ? 503 : code === 'WEFT_PROXY_UNKNOWN_PORT' ? 404 : 400, err, req.url);
  }
  const opened = await openPeerStream(ctx, entry, target, socket, { ':method': 'CONNECT', ':authority': target.authority }, undefined);
  if (opened === undefined) return;
  if ('error' in opened) return refuse(ctx, socket, 503, opened.error, req.url);
  splice(ctx, opened.stream, socket, head, target);
}

/** What openPeerStream answers: the stream, or why none could be opened (and on which endpoint, if one). */
export type PeerStream = { readonly stream: ClientHttp2Stream; readonly key: string } | { readonly error: ProxyError; readonly key?: string };

/**
 * Opens a stream to a verified sidecar of the service for a connection the app holds (a CONNECT
 * tunnel, an upgrade): up to MAX_ATTEMPTS endpoints, moving on past connect failures, secure-naming
 * misses and a session that closed under the request. `refuses` may turn a verified session down
 * for good (no other endpoint is tried). Undefined when the app's socket went away meanwhile.
 */
export async function openPeerStream(
  ctx: TunnelContext,
  entry: ServiceEntry,
  target: Target,
  socket: Socket,
  headers: OutgoingHttpHeaders,
  options: ClientSessionRequestOptions | undefined,
  refuses?: (ms: MeshSession) => ProxyError | undefined,
): Promise<PeerStream | undefined> {
  let lastError = new ProxyError('WEFT_PROXY_NO_ENDPOINTS', entry.endpoints.length === 0 ? `service "${target.service}.${target.namespace}" has no endpoints` : 'no healthy upstream');
  const failed: string[] = [];
  const avoid = { avoids: (ep: Endpoint) => ctx.pool.isDown(endpointKey(ep)) || failed.includes(endpointKey(ep)) };
  for (let attempt = 0; attempt < Math.min(MAX_ATTEMPTS, Math.max(entry.endpoints.length, 1)); attempt++) {
    const ep = ctx.balancer.pick(entry, avoid);
    if (ep === undefined || socket.destroyed) break;
    const key = endpointKey(ep);
    let ms: MeshSession | undefined = ctx.pool.get(key);
    const reserved = ms === undefined;
    try {
      ms ??= await ctx.pool.connect(ep, key);
    } catch (err) {
      failed.push(key);
      lastError = err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'cannot reach a sidecar of the service', { cause: err });
      continue;
    }
    const misnamed = secureNamingError(entry, target, ms, ctx.stats, ctx.logger);
    if (misnamed !== undefined || socket.destroyed) {
      if (reserved) ctx.pool.release(ms);
      if (misnamed === undefined) return undefined;
      failed.push(key);
      lastError = misnamed;
      continue;
    }
    const refused = refuses?.(ms);
    if (refused !== undefined) {
      if (reserved) ctx.pool.release(ms);
      return { error: refused, key };
    }
    try {
      return { stream: ctx.pool.request(ms, headers, options, reserved), key };
    } catch (err) {
      // The session started closing between get() and request(): nothing was sent.
      ctx.pool.evict(ms);
      lastError = new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar closed the connection', { cause: err });
    }
  }
  return socket.destroyed ? undefined : { error: lastError };
}

/** Waits for the peer's answer, then relays bytes both ways until either side closes. */
function splice(ctx: TunnelContext, stream: ClientHttp2Stream, socket: Socket, head: Buffer, target: Target): void {
  let open = false;
  stream.on('error', () => undefined);
  stream.once('response', (headers: IncomingHttpHeaders) => {
    const status = Number(headers[':status']);
    if (status !== 200) {
      ctx.stats.outbound_tcp_connections_failed_total++;
      ctx.logger.log('info', 'outbound.tcp.refused', { target: target.authority, status });
      // The serving sidecar's own explanation travels on; a bare failure is a failed upstream connect.
      const told = headers[PROXY_ERROR_HEADER];
      const explained = typeof told === 'string' ? told : status === 403 ? undefined : proxyErrorValue({ flag: 'UF', code: 'WEFT_PROXY_UPSTREAM_UNAVAILABLE', reason: `the peer sidecar answered ${status}` });
      const flag = explained === undefined ? undefined : responseFlagOf(explained);
      if (flag !== undefined) ctx.stats.countFlag(flag);
      answer(socket, status === 403 ? 403 : 503, status === 403 ? 'RBAC: access denied' : 'upstream connect error', explained);
      stream.close();
      return;
    }
    open = true;
    ctx.stats.outbound_tcp_connections_total++;
    ctx.stats.outbound_tcp_connections_active++;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (ctx.serveH2 === undefined) return void relay(stream, socket, head, false);
    // What the app says first decides: the HTTP/2 preface (grpc-js behind grpc_proxy) ends the
    // tunnel here, so every call inside is routed, authorized and counted on its own; anything
    // else makes it the TCP tunnel it asked for (h2-listener.ts, sniffTunnel).
    const serveH2 = ctx.serveH2;
    sniffTunnel(stream, socket, head, (h2, fromApp, fromServer, ended) => {
      if (!h2) {
        if (fromServer.length > 0) socket.write(fromServer);
        return void relay(stream, socket, fromApp, ended);
      }
      open = false;
      ctx.stats.outbound_tcp_connections_active--;
      stream.close(h2c.NGHTTP2_CANCEL);
      socket.unshift(fromApp);
      serveH2(socket, target.authority);
    });
  });
  let answered = false;
  stream.once('response', () => (answered = true));
  socket.once('close', () => {
    if (open) ctx.stats.outbound_tcp_connections_active--;
    if (!stream.destroyed) stream.close();
  });
  stream.once('close', () => {
    if (!answered && !socket.destroyed && !socket.writableEnded) refuse(ctx, socket, 503, new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar closed the tunnel'), target.authority);
    else if (open && !socket.writableEnded) socket.end();
  });
}

/** Bytes both ways until either side closes; `first`: what the app sent already, `ended`: and then its FIN. */
function relay(stream: ClientHttp2Stream, socket: Socket, first: Buffer, ended: boolean): void {
  if (ended) {
    stream.end(first);
  } else {
    if (first.length > 0) socket.unshift(first);
    socket.pipe(stream);
  }
  stream.pipe(socket);
}

function refuse(ctx: TunnelContext, socket: Socket, status: 400 | 404 | 503, err: unknown, url: string | undefined): void {
  ctx.stats.outbound_tcp_connections_failed_total++;
  const e = err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'cannot reach a sidecar of the service', { cause: err });
  ctx.logger.log('info', 'outbound.tcp.failed', { target: url ?? null, code: e.code, error: e.message });
  ctx.stats.countFlag(RESPONSE_FLAG_OF[e.code]);
  answer(socket, status, `${e.message}\n`, proxyErrorValue({ flag: RESPONSE_FLAG_OF[e.code], code: e.code, reason: e.reason }));
}

const REASONS = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable' } as const;

/** The proxy's own answer to a CONNECT that opens no tunnel; the connection closes after it. */
function answer(socket: Socket, status: keyof typeof REASONS, body: string, proxyError?: string): void {
  const error = proxyError === undefined ? '' : `x-weft-proxy-error: ${proxyError}\r\n`;
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${error}\r\n${body}`);
}
