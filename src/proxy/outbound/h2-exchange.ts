// Outbound over HTTP/2: one stream the app opened on its h2c connection to the outbound port
// (h2-listener.ts) is routed by its :authority exactly as an HTTP/1.1 request by its Host
// (route.ts), then carried as one stream on a pooled, verified mesh session (secure naming
// first), relayed by h2-relay.ts. A gRPC call's `grpc-timeout` is its deadline here: when it runs
// out the upstream stream is cancelled and the app gets DEADLINE_EXCEEDED (response flag UT).
// Every answer the sidecar gives itself is an HTTP/2 response (gRPC: a trailers-only status).
import { constants as h2c, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { ProxyError } from '../errors.js';
import { isGrpcContentType, parseGrpcTimeout } from '../grpc-status.js';
import { HOP_BY_HOP } from '../hop-headers.js';
import { H2Relay, VIA_H2_HEADER, type RelayOwner } from '../h2-relay.js';
import { rescueStream } from '../rescue.js';
import type { Endpoint, ServiceDirectory, ServiceEntry } from '../types.js';
import type { OutboundContext } from './forward.js';
import { endpointKey, type MeshSession } from './pool.js';
import { parseTarget, type Target } from './route.js';
import { secureNamingError } from './secure-naming.js';

/** Attempts per request, as for HTTP/1.1 (forward.ts). */
const MAX_ATTEMPTS = 3;


export interface OutboundH2Context extends OutboundContext {
  readonly directory: ServiceDirectory;
  readonly clusterSuffix: string;
}

const kExchange = Symbol('weft.outbound.h2');
type Tagged = { [kExchange]?: OutboundH2Exchange };

/**
 * Handles one stream of the app's h2c connection; never throws. `defaultAuthority`: the CONNECT
 * target of a tunnel ended here, for a stream that names no authority.
 */
export function handleAppStream(ctx: OutboundH2Context, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, defaultAuthority: string | undefined): void {
  const stats = ctx.stats;
  stats.outbound_requests_total++;
  stats.outbound_requests_active++;
  stats.outbound_h2_requests_total++;
  const grpc = isGrpcContentType(headers['content-type']);
  if (grpc) stats.outbound_grpc_requests_total++;
  stream.on('error', ignore);
  let target: Target;
  let entry: ServiceEntry | undefined;
  try {
    const method = headers[':method'];
    if (method === 'CONNECT') throw new ProxyError('WEFT_PROXY_BAD_REQUEST', 'CONNECT inside HTTP/2 is not proxied: send CONNECT over HTTP/1.1');
    const path = headers[':path'];
    if (typeof path !== 'string' || path.charCodeAt(0) !== 0x2f) throw new ProxyError('WEFT_PROXY_BAD_REQUEST', 'request has no origin-form :path');
    const authority = headers[':authority'] ?? headers.host ?? defaultAuthority;
    target = parseTarget(path, typeof authority === 'string' ? authority : undefined, ctx.clusterSuffix);
    entry = ctx.directory.lookup(target.service, target.namespace);
    if (entry === undefined) throw new ProxyError('WEFT_PROXY_UNKNOWN_SERVICE', `unknown service "${target.service}.${target.namespace}"`);
  } catch (err) {
    if (err instanceof ProxyError && err.code === 'WEFT_PROXY_UNKNOWN_SERVICE') stats.outbound_requests_unknown_service_total++;
    else stats.outbound_requests_bad_request_total++;
    stats.outbound_requests_active--;
    const fields = { method: headers[':method'], path: headers[':path'], authority: headers[':authority'] ?? null };
    rescueStream(stream, err, ctx.logger, ctx.emitErrorHeaders, fields, stats, { direction: 'outbound', grpc });
    stream.resume(); // the request body, if any, goes nowhere
    ctx.done();
    return;
  }
  new OutboundH2Exchange(ctx, stream, headers, flags, target, entry, grpc).attempt();
}

function ignore(): void {
  // Decided on 'close'.
}

// === OutboundH2Exchange ===

class OutboundH2Exchange implements RelayOwner {
  readonly ctx: OutboundH2Context;
  readonly stream: ServerHttp2Stream;
  readonly target: Target;
  readonly entry: ServiceEntry;
  readonly grpc: boolean;
  readonly upHeaders: OutgoingHttpHeaders;
  readonly noRequestBody: boolean;
  attempts = 0;
  unsentRetries = 0;
  endpoint: Endpoint | undefined;
  failedKeys: string[] | undefined;
  lastError: ProxyError | undefined;
  relay: H2Relay | undefined;
  /** The session the current relay's stream is on. */
  relayed: MeshSession | undefined;
  deadline: NodeJS.Timeout | undefined;
  /** The sidecar answered the app itself: nothing more is sent upstream. */
  answered = false;
  over = false;

  constructor(ctx: OutboundH2Context, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, target: Target, entry: ServiceEntry, grpc: boolean) {
    this.ctx = ctx;
    this.stream = stream;
    this.target = target;
    this.entry = entry;
    this.grpc = grpc;
    this.noRequestBody = (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0;
    const up: OutgoingHttpHeaders = { ':method': headers[':method'] ?? 'GET', ':path': target.path, ':authority': target.authority, ':scheme': 'http' };
    for (const name in headers) {
      if (name.charCodeAt(0) === 0x3a /* ':' */ || name.startsWith('x-weft-')) continue;
      const value = headers[name];
      if (HOP_BY_HOP.has(name) && !(name === 'te' && value === 'trailers')) continue;
      if (value !== undefined) up[name] = value;
    }
    up[VIA_H2_HEADER] = 'h2';
    this.upHeaders = up;
    (stream as Tagged)[kExchange] = this;
    stream.once('close', onAppStreamClose);
    if (grpc) {
      const ms = parseGrpcTimeout(headers['grpc-timeout']);
      if (ms !== undefined) {
        this.deadline = setTimeout(onDeadline, ms, this);
        this.deadline.unref();
      }
    }
  }

  attempt(): void {
    if (this.over || this.answered) return;
    const ctx = this.ctx;
    if (this.attempts >= MAX_ATTEMPTS || this.attempts >= Math.max(this.entry.endpoints.length, 2)) {
      this.fail(this.lastError ?? new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'no sidecar of the service could take the request'));
      return;
    }
    this.attempts++;
    const ep = ctx.balancer.pick(this.entry, this.failedKeys !== undefined || ctx.pool.anyDown ? this : undefined);
    if (ep === undefined) {
      this.fail(new ProxyError('WEFT_PROXY_NO_ENDPOINTS', `service "${this.target.service}.${this.target.namespace}" has no endpoints`));
      return;
    }
    this.endpoint = ep;
    const key = endpointKey(ep);
    const ms = ctx.pool.get(key);
    if (ms !== undefined) return this.onSession(ms, false);
    ctx.pool.connect(ep, key).then(
      (s) => this.onSession(s, true),
      (err: unknown) => {
        (this.failedKeys ??= []).push(key);
        this.lastError = err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'cannot reach a sidecar of the service', { cause: err });
        this.attempt();
      },
    );
  }

  /** For the balancer: endpoints known down, or that already failed this request. */
  avoids(ep: Endpoint): boolean {
    const key = endpointKey(ep);
    return this.ctx.pool.isDown(key) || (this.failedKeys !== undefined && this.failedKeys.includes(key));
  }

  onSession(ms: MeshSession, reserved: boolean): void {
    if (this.over || this.answered) {
      if (reserved) this.ctx.pool.release(ms);
      return;
    }
    const misnamed = secureNamingError(this.entry, this.target, ms, this.ctx.stats, this.ctx.logger);
    if (misnamed !== undefined) {
      if (reserved) this.ctx.pool.release(ms);
      (this.failedKeys ??= []).push(ms.key);
      this.lastError = misnamed;
      this.attempt();
      return;
    }
    let up: ClientHttp2Stream;
    try {
      up = this.ctx.pool.request(ms, this.upHeaders, this.noRequestBody ? { endStream: true } : { waitForTrailers: true }, reserved);
    } catch (err) {
      this.ctx.pool.evict(ms);
      this.retryUnsent(err, ms);
      return;
    }
    this.relay = new H2Relay(this.stream, up, this, this.noRequestBody);
    this.relayed = ms;
  }

  retryUnsent(cause: unknown, ms: MeshSession | undefined): void {
    this.ctx.stats.outbound_requests_retried_total++;
    this.lastError = new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar closed the connection', { cause, ...(ms ? { fields: { endpoint: ms.key } } : {}) });
    if (++this.unsentRetries > MAX_ATTEMPTS) return this.fail(this.lastError);
    this.attempts--;
    this.attempt();
  }

  upstreamFailed(rstCode: number, cause?: unknown): void {
    if (this.over || this.answered) return;
    const up = this.relay?.up;
    this.relay = undefined;
    if (rstCode === -1) return this.fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'response headers cannot be relayed', { cause }));
    // Resent only if the peer never processed it and no body byte is gone.
    const unsent = rstCode === h2c.NGHTTP2_REFUSED_STREAM || up?.id === undefined;
    if (unsent && (this.noRequestBody || !this.stream.readableDidRead)) {
      if (this.relayed !== undefined) this.ctx.pool.evict(this.relayed);
      return this.retryUnsent(new Error(`stream closed unsent (code ${rstCode})`), this.relayed);
    }
    this.fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar reset the request', { message: `stream reset by ${this.relayed?.key} (code ${rstCode})` }));
  }

  onDeadline(): void {
    this.deadline = undefined;
    if (this.over || this.answered) return;
    this.ctx.stats.outbound_grpc_deadline_exceeded_total++;
    const relay = this.relay;
    relay?.detach();
    this.fail(new ProxyError('WEFT_PROXY_DEADLINE_EXCEEDED', 'the call\'s grpc-timeout ran out'), relay);
  }

  /** Answers the app itself; the stream's 'close' then ends the exchange. */
  fail(err: ProxyError, relay?: H2Relay): void {
    this.answered = true;
    const s = this.ctx.stats;
    if (err.code === 'WEFT_PROXY_NO_ENDPOINTS') s.outbound_requests_no_endpoints_total++;
    else if (err.code !== 'WEFT_PROXY_SECURE_NAMING') s.outbound_requests_upstream_error_total++;
    const stream = this.stream;
    rescueStream(stream, err, this.ctx.logger, this.ctx.emitErrorHeaders, {
      service: `${this.target.service}.${this.target.namespace}`,
      path: this.target.path,
      ...(this.endpoint ? { endpoint: endpointKey(this.endpoint) } : {}),
    }, s, { direction: 'outbound', grpc: this.grpc, trailersPending: relay === undefined ? undefined : (t) => relay.endWithTrailers(t) });
    // The rest of the request body goes nowhere; reading it lets the stream close.
    if (!stream.readableEnded) stream.resume();
  }

  onAppStreamClose(): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.deadline);
    const complete = this.relay?.downClosed() ?? false;
    const s = this.ctx.stats;
    s.outbound_requests_active--;
    if (complete) s.outbound_requests_forwarded_total++;
    else if (this.stream.rstCode !== h2c.NGHTTP2_NO_ERROR) s.outbound_requests_reset_total++;
    this.ctx.done();
  }
}

function onAppStreamClose(this: ServerHttp2Stream): void {
  (this as Tagged)[kExchange]!.onAppStreamClose();
}

function onDeadline(ex: OutboundH2Exchange): void {
  ex.onDeadline();
}
