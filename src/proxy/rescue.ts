// The one place that turns a request-path failure into a response (style.md §5): status by code,
// `x-weft-proxy-error: <code>: <reason>` (unless switched off), a short body, one log line.
import type { ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Logger } from '../telemetry/logger.js';
import { ProxyError, type ProxyErrorCode } from './errors.js';

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
  // Refused peers get their connection closed, never an HTTP answer; kept for completeness.
  WEFT_PROXY_PEER_REFUSED: 403,
};

/** What a failure looks like to the caller. */
export interface Rescued {
  readonly status: number;
  readonly code: string;
  readonly reason: string;
  readonly body: string;
}

/** Status, code and client-safe reason of anything thrown on the request path. */
export function rescue(err: unknown): Rescued {
  const e = err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'internal proxy error', { cause: err });
  return { status: STATUS[e.code], code: e.code, reason: e.reason, body: `weft: ${e.reason}\n` };
}

/** Rescue on the outbound listener (HTTP/1.1 to the app). A response already begun is cut instead. */
export function rescueH1(res: ServerResponse, err: unknown, logger: Logger, emitHeader: boolean, fields: Record<string, unknown>): void {
  const r = rescue(err);
  log(logger, 'outbound', r, err, fields);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: string[] = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(r.body))];
  if (emitHeader) headers.push(PROXY_ERROR_HEADER, `${r.code}: ${r.reason}`);
  res.writeHead(r.status, headers);
  res.end(r.body);
}

/** Rescue on the inbound listener (an HTTP/2 stream from a peer sidecar). */
export function rescueH2(stream: ServerHttp2Stream, err: unknown, logger: Logger, emitHeader: boolean, fields: Record<string, unknown>): void {
  const r = rescue(err);
  log(logger, 'inbound', r, err, fields);
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(0x2 /* INTERNAL_ERROR */);
    return;
  }
  const headers: Record<string, string | number> = {
    ':status': r.status,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(r.body),
  };
  if (emitHeader) headers[PROXY_ERROR_HEADER] = `${r.code}: ${r.reason}`;
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
    message: err instanceof Error ? err.message : String(err),
    ...(cause === undefined ? {} : { cause }),
    ...fields,
    ...extra,
  });
}
