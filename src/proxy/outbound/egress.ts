// Outbound traffic to hosts outside the mesh, as MeshConfig's outboundTrafficPolicy says:
// ALLOW_ANY (Istio's default) forwards the request as the app asked it, plain HTTP straight to
// the host and CONNECT as a TCP connection to it (Envoy's PassthroughCluster); REGISTRY_ONLY
// answers 502 (Envoy's BlackHoleCluster). "Unknown service" is kept for names shaped like a mesh
// service: a misspelt service must not leak to DNS as if it were an external host.
import { request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { h2ToH1Headers } from '../hop-headers.js';
import { rescueH1 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { ServiceDirectory } from '../types.js';

export type OutboundTrafficMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

/** Envoy's default connect timeout, as Istio's MeshConfig `connectTimeout` (10 s). */
const CONNECT_TIMEOUT_MS = 10_000;

/** A host outside the mesh's names, with the port the app asked for. */
export interface ExternalHost {
  /** Hostname or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** As the app wrote it, for logs and the Host header. */
  readonly authority: string;
}

/**
 * The external host an authority names, or undefined when the name is shaped like a mesh service:
 * one label (a short name), `SERVICE.NAMESPACE` for a namespace the mesh has, or anything under
 * the cluster domain. IP literals and every other name are external.
 */
export function externalHostOf(authority: string, clusterSuffix: string, directory: ServiceDirectory, defaultPort: number): ExternalHost | undefined {
  let host = authority;
  let portText = '';
  if (host.charCodeAt(0) === 0x5b /* '[' */) {
    const close = host.indexOf(']');
    if (close === -1) return undefined;
    portText = host.slice(close + 1).replace(/^:/, '');
    host = host.slice(1, close);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) {
      portText = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  const port = portText === '' ? defaultPort : /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535) || host.length === 0 || host.length > 253) return undefined;
  if (isIP(host) === 0) {
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) return undefined;
    if (host.endsWith(clusterSuffix) || `.${host}` === clusterSuffix) return undefined;
    const labels = host.split('.');
    if (labels.length === 1) return undefined;
    if (labels.length === 2 && (directory.hasNamespace === undefined || directory.hasNamespace(labels[1]!))) return undefined;
  }
  return { host, port, authority };
}

/** What the egress paths share; one per outbound listener. */
export interface EgressContext {
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly emitErrorHeaders: boolean;
  /** Keep-alive connections to external hosts, bounded per host. */
  readonly agent: Agent;
}

export function createEgressAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 16, timeout: 60_000 });
}

function blackHole(ext: ExternalHost): ProxyError {
  return new ProxyError('WEFT_PROXY_EGRESS_BLOCKED', `outboundTrafficPolicy REGISTRY_ONLY: "${ext.host}" is neither a mesh service nor a ServiceEntry host`, { fields: { host: ext.host, port: ext.port } });
}

function connectError(ext: ExternalHost, err: NodeJS.ErrnoException): ProxyError {
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new ProxyError('WEFT_PROXY_DNS_FAILED', `"${ext.host}" does not resolve, and it is not a service of the mesh`, { cause: err, fields: { host: ext.host } });
  }
  return new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', `cannot reach ${ext.authority}`, { message: `egress to ${ext.host}:${ext.port} failed: ${err.message}`, cause: err, fields: { host: ext.host, port: ext.port } });
}

/**
 * One plain HTTP request to an external host (ALLOW_ANY), or its 502 (REGISTRY_ONLY). The app's
 * request goes as it was asked, less the fields of this hop; the answer comes back the same way.
 */
export function forwardExternal(ctx: EgressContext, mode: OutboundTrafficMode, req: IncomingMessage, res: ServerResponse, ext: ExternalHost, path: string, done: () => void): void {
  const fields = { method: req.method, host: ext.authority };
  let over = false;
  const end = (): void => {
    if (over) return;
    over = true;
    done();
  };
  res.once('close', end);
  if (mode === 'REGISTRY_ONLY') {
    ctx.stats.outbound_requests_blackholed_total++;
    rescueH1(res, blackHole(ext), ctx.logger, ctx.emitErrorHeaders, fields, ctx.stats);
    return;
  }
  ctx.stats.outbound_requests_passthrough_total++;
  const headers = h2ToH1Headers(req.headers, [], false);
  headers.push('host', ext.authority);
  const upstream = httpRequest({ host: ext.host, port: ext.port, method: req.method, path, headers, agent: ctx.agent, timeout: CONNECT_TIMEOUT_MS, setHost: false });
  // The timeout bounds the connect only: once connected, a slow answer is the app's to wait for.
  upstream.once('socket', (socket: Socket) => {
    if (!socket.connecting) upstream.setTimeout(0);
    else socket.once('connect', () => upstream.setTimeout(0));
  });
  upstream.once('timeout', () => upstream.destroy(Object.assign(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })));
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (res.headersSent) return void res.destroy();
    rescueH1(res, connectError(ext, err), ctx.logger, ctx.emitErrorHeaders, fields, ctx.stats);
  });
  upstream.once('response', (answer: IncomingMessage) => {
    if (res.destroyed) return void answer.destroy();
    res.writeHead(answer.statusCode ?? 502, h2ToH1Headers(answer.headers, [], false));
    answer.pipe(res);
    answer.once('error', () => res.destroy());
  });
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** CONNECT to an external host: a TCP connection as the app asked (ALLOW_ANY), or a 502. */
export function tunnelExternal(ctx: EgressContext, mode: OutboundTrafficMode, socket: Socket, head: Buffer, ext: ExternalHost, answer: (status: 502 | 503, body: string, proxyError: ProxyError) => void): void {
  if (mode === 'REGISTRY_ONLY') {
    ctx.stats.outbound_requests_blackholed_total++;
    const err = blackHole(ext);
    ctx.logger.log('info', 'outbound.tcp.failed', { target: ext.authority, code: err.code, error: err.message });
    answer(502, `${err.reason}\n`, err);
    return;
  }
  ctx.stats.outbound_tcp_passthrough_total++;
  const upstream = netConnect({ host: ext.host, port: ext.port, timeout: CONNECT_TIMEOUT_MS });
  let open = false;
  upstream.once('timeout', () => {
    if (!open) upstream.destroy(Object.assign(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }));
  });
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    if (open) return void socket.destroy();
    const e = connectError(ext, err);
    ctx.logger.log('info', 'outbound.tcp.failed', { target: ext.authority, code: e.code, error: e.message });
    answer(503, `${e.reason}\n`, e);
  });
  upstream.once('connect', () => {
    open = true;
    upstream.setTimeout(0);
    upstream.setNoDelay(true);
    if (socket.destroyed) return void upstream.destroy();
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.once('close', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
  });
}
