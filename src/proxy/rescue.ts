// The one place that turns a request-path failure into a response (style.md §5): status by code,
// `x-weft-proxy-error: <response flag> <code>: <reason>` (unless switched off), a short body, one
// log line, one count per response flag.
import type { ServerResponse } from 'node:http';
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Logger } from '../telemetry/logger.js';
import { ProxyError, RESPONSE_FLAG_OF, RESPONSE_FLAGS, type ProxyErrorCode, type ResponseFlag } from './errors.js';
import { GRPC_STATUS, grpcLocalReply, grpcStatusOfHttp } from './grpc-status.js';
import type { ProxyStats } from './stats.js';

export const PROXY_ERROR_HEADER = 'x-weft-proxy-error';

const STATUS: Record<ProxyErrorCode, number> = {
  WEFT_PROXY_BAD_REQUEST: 400,
  WEFT_PROXY_UNKNOWN_SERVICE: 503,
  // Envoy's NR (no route): the service is known, the port is not one of its.
  WEFT_PROXY_UNKNOWN_PORT: 404,
  WEFT_PROXY_NO_ENDPOINTS: 503,
  WEFT_PROXY_SECURE_NAMING: 503,
  WEFT_PROXY_UPSTREAM_UNAVAILABLE: 503,
  WEFT_PROXY_UPSTREAM_RESET: 502,
  WEFT_PROXY_STREAMS_EXHAUSTED: 503,
  WEFT_PROXY_APP_UNAVAILABLE: 503,
  WEFT_PROXY_IDENTITY_REVOKED: 503,
  WEFT_PROXY_EGRESS_BLOCKED: 502,
  WEFT_PROXY_DNS_FAILED: 503,
  WEFT_PROXY_UPGRADE_FAILED: 502,
  WEFT_PROXY_NO_ROUTE: 404,
  WEFT_PROXY_NO_CLUSTER: 503,
  WEFT_PROXY_OVERFLOW: 503,
  WEFT_PROXY_UPSTREAM_TIMEOUT: 504,
  // The configured abort status replaces it (see rescueH1's `override`).
  WEFT_PROXY_FAULT_ABORT: 503,
  // Refused peers get their connection closed, never an HTTP answer; kept for completeness.
  WEFT_PROXY_PEER_REFUSED: 403,
  WEFT_PROXY_DEADLINE_EXCEEDED: 504,
};

/** What a failure looks like to the caller. */
export interface Rescued {
  readonly status: number;
  readonly code: string;
  /** Envoy's response flag for the failure (UH, UF, UO, NR...). */
  readonly flag: ResponseFlag;
  readonly reason: string;
  readonly body: string;
}

/** What a routed answer changes in a rescue: the status a fault abort configures, headers such as `x-envoy-overloaded`. */
export interface RescueOverride {
  readonly status?: number;
  /** Name, value, name, value... */
  readonly headers?: readonly string[];
}

/** Status, code and client-safe reason of anything thrown on the request path. */
export function rescue(err: unknown): Rescued {
  const e = err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'internal proxy error', { cause: err });
  return { status: STATUS[e.code], code: e.code, flag: RESPONSE_FLAG_OF[e.code], reason: e.reason, body: `weft: ${e.reason}\n` };
}

/** The `x-weft-proxy-error` value: the response flag first, as access logs put it, then code and reason. */
export function proxyErrorValue(r: Pick<Rescued, 'flag' | 'code' | 'reason'>): string {
  return `${r.flag} ${r.code}: ${r.reason}`;
}

/** The response flag an `x-weft-proxy-error` value starts with; undefined for any other shape. */
export function responseFlagOf(value: string): ResponseFlag | undefined {
  const flag = value.slice(0, value.indexOf(' '));
  return (RESPONSE_FLAGS as readonly string[]).includes(flag) ? (flag as ResponseFlag) : undefined;
}

/** Rescue on the outbound listener (HTTP/1.1 to the app). A response already begun is cut instead. */
export function rescueH1(res: ServerResponse, err: unknown, logger: Logger, emitHeader: boolean, fields: Record<string, unknown>, stats: ProxyStats, override?: RescueOverride): void {
  const base = rescue(err);
  const r = override?.status === undefined ? base : { ...base, status: override.status };
  log(logger, 'outbound', r, err, fields);
  stats.countFlag(r.flag);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: string[] = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(r.body))];
  if (emitHeader) headers.push(PROXY_ERROR_HEADER, proxyErrorValue(r));
  if (override?.headers !== undefined) headers.push(...override.headers);
  res.writeHead(r.status, headers);
  res.end(r.body);
}

/** Rescue on the inbound listener (an HTTP/2 stream from a peer sidecar). */
export function rescueH2(stream: ServerHttp2Stream, err: unknown, logger: Logger, emitHeader: boolean, fields: Record<string, unknown>, stats: ProxyStats, grpc = false): void {
  rescueStream(stream, err, logger, emitHeader, fields, stats, { direction: 'inbound', grpc });
}

/**
 * Rescue on any HTTP/2 stream the sidecar serves: a peer's (inbound) or the app's (outbound
 * h2c). A gRPC request gets a trailers-only answer whose grpc-status maps the HTTP status (a
 * deadline: DEADLINE_EXCEEDED). A response already begun is reset instead, or, for gRPC whose
 * trailers are still to come (`trailersPending`), ended with the status in its trailers.
 */
export function rescueStream(
  stream: ServerHttp2Stream,
  err: unknown,
  logger: Logger,
  emitHeader: boolean,
  fields: Record<string, unknown>,
  stats: ProxyStats,
  opts: { direction: 'inbound' | 'outbound'; grpc: boolean; trailersPending?: (trailers: OutgoingHttpHeaders) => boolean },
): void {
  const r = rescue(err);
  log(logger, opts.direction, r, err, fields);
  stats.countFlag(r.flag);
  if (stream.destroyed || stream.closed) return;
  const grpcStatus = r.code === 'WEFT_PROXY_DEADLINE_EXCEEDED' ? GRPC_STATUS.DEADLINE_EXCEEDED : grpcStatusOfHttp(r.status);
  if (stream.headersSent) {
    const reply = grpcLocalReply(grpcStatus, r.reason);
    const trailers: OutgoingHttpHeaders = { 'grpc-status': reply['grpc-status'], 'grpc-message': reply['grpc-message'] };
    if (emitHeader) trailers[PROXY_ERROR_HEADER] = proxyErrorValue(r);
    const ended = opts.grpc && opts.trailersPending !== undefined && opts.trailersPending(trailers);
    if (!ended) stream.close(0x2 /* INTERNAL_ERROR */);
    return;
  }
  if (opts.grpc) {
    const headers = grpcLocalReply(grpcStatus, r.reason);
    if (emitHeader) headers[PROXY_ERROR_HEADER] = proxyErrorValue(r);
    stream.respond(headers, { endStream: true });
    return;
  }
  const headers: Record<string, string | number> = {
    ':status': r.status,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(r.body),
  };
  if (emitHeader) headers[PROXY_ERROR_HEADER] = proxyErrorValue(r);
  stream.respond(headers);
  stream.end(r.body);
}

function log(logger: Logger, direction: string, r: Rescued, err: unknown, fields: Record<string, unknown>): void {
  const extra = err instanceof ProxyError ? err.fields : {};
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
  logger.log(r.status >= 500 ? 'warn' : 'info', 'proxy.request.failed', {
    direction,
    status: r.status,
    code: r.code,
    responseFlags: r.flag,
    message: err instanceof Error ? err.message : String(err),
    ...(cause === undefined ? {} : { cause }),
    ...fields,
    ...extra,
  });
}
