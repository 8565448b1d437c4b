// Outbound stages 2-4 for one request: pick an endpoint, get a verified session, check secure
// naming, then carry the HTTP/1.1 exchange as one HTTP/2 stream, bodies relayed both ways with backpressure. A
// request the peer never processed (refused stream, GOAWAY, a session that died before sending)
// is retried on a fresh session; anything else that fails is rescued into a 502/503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as h2c, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { distinctFields, h1ToH2Headers, h2ToH1Headers } from '../hop-headers.js';
import { rescueH1 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import { forwardableTrailers } from '../trailers.js';
import type { Endpoint, ServiceEntry } from '../types.js';
import { endpointKey, type MeshSession, type SessionPool } from './pool.js';
import type { RoundRobin, Target } from './route.js';
import { secureNamingError } from './secure-naming.js';
import type { TrafficPlan } from './traffic.js';
import { RoutedTry } from './traffic-exchange.js';

const kExchange = Symbol('weft.outbound.exchange');
type Tagged = { [kExchange]?: OutboundExchange };

const END_STREAM = { endStream: true } as const;
const OPEN_STREAM = { endStream: false } as const;
const WAIT_FOR_TRAILERS = { endStream: false, waitForTrailers: true } as const;

/** Attempts per request: endpoints tried after connect failures, refused streams, secure-naming misses. */
const MAX_ATTEMPTS = 3;

/** What every exchange shares; one per proxy. */
export interface OutboundContext {
  readonly pool: SessionPool;
  readonly balancer: RoundRobin;
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly emitErrorHeaders: boolean;
  /** True once the listener drains: responses then close their HTTP/1.1 connection. */
  readonly draining: boolean;
  /** Called once per request when it is over, whatever the outcome. */
  readonly done: () => void;
}

// === OutboundExchange ===

/** One request from the app; event handlers are shared functions that find it through a symbol. */
export class OutboundExchange {
  readonly ctx: OutboundContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: Target;
  readonly entry: ServiceEntry;
  readonly h2Headers: OutgoingHttpHeaders;
  readonly noRequestBody: boolean;
  /** A chunked request body: it may end with trailers, so the stream waits for them. */
  readonly chunked: boolean;
  /** `Expect: 100-continue`: the 100 comes from the serving app, through the peer sidecar. */
  readonly expectContinue: boolean;
  /** The serving side answered 100: the caller was told to send its body. */
  continued = false;
  /** Trailers of the response, relayed after its body. */
  trailers: IncomingHttpHeaders | undefined;
  attempts = 0;
  endpoint: Endpoint | undefined;
  ms: MeshSession | undefined;
  stream: ClientHttp2Stream | undefined;
  /** Sends of this request that the peer provably never processed, each retried once more. */
  unsentRetries = 0;
  lastError: ProxyError | undefined;
  /** Endpoints that failed this request (connect, secure naming); the balancer passes over them. */
  failedKeys: string[] | undefined;
  responded = false;
  over = false;
  /** Set when a VirtualService/DestinationRule routed the request (traffic-exchange.ts carries it out). */
  readonly routed: RoutedTry | undefined;

  constructor(ctx: OutboundContext, req: IncomingMessage, res: ServerResponse, target: Target, entry: ServiceEntry, plan?: TrafficPlan) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.target = target;
    this.entry = entry;
    const h = h1ToH2Headers(distinctFields(req.headers, () => req.headersDistinct), {
      ':method': req.method ?? 'GET',
      ':path': target.path,
      ':authority': target.authority,
      ':scheme': 'http',
    });
    // Only `100-continue` gets here (the listener's 'checkContinue'); Node answers any other
    // expectation 417 itself. The app's own 100 or final answer decides whether the body comes.
    this.expectContinue = h.expect !== undefined;
    plan?.editRequest(h);
    this.h2Headers = h;
    const length = req.headers['content-length'];
    this.chunked = req.headers['transfer-encoding'] !== undefined;
    this.noRequestBody = !this.chunked && (length === undefined || length === '0');
    (res as Tagged)[kExchange] = this;
    res.once('close', onResClose);
    this.routed = plan === undefined ? undefined : new RoutedTry(this, plan);
  }

  /** Picks the next endpoint and sends on its session, opening one if needed. */
  attempt(): void {
    if (this.over) return;
    const ctx = this.ctx;
    if (this.attempts >= MAX_ATTEMPTS || this.attempts >= Math.max(this.entry.endpoints.length, 2)) {
      this.fail(this.lastError ?? new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'no sidecar of the service could take the request'));
      return;
    }
    this.attempts++;
    const ep = this.routed !== undefined ? this.routed.pick() : ctx.balancer.pick(this.entry, this.failedKeys !== undefined || ctx.pool.anyDown ? this : undefined);
    if (ep instanceof ProxyError) {
      this.fail(ep);
      return;
    }
    if (ep === undefined) {
      const none = this.entry.endpoints.length === 0;
      this.fail(new ProxyError('WEFT_PROXY_NO_ENDPOINTS', none ? `service "${this.target.service}.${this.target.namespace}" has no endpoints` : 'no healthy upstream', { message: `service "${this.target.service}.${this.target.namespace}": none of its ${this.entry.endpoints.length} endpoints is healthy` }));
      return;
    }
    this.endpoint = ep;
    const key = endpointKey(ep);
    this.routed?.begin(key);
    const ms = ctx.pool.get(key);
    if (ms !== undefined) {
      this.onSession(ms, false);
      return;
    }
    ctx.pool.connect(ep, key).then(
      (s) => this.onSession(s, true),
      (err: unknown) => {
        (this.failedKeys ??= []).push(key);
        this.lastError = err instanceof ProxyError ? err : new ProxyError('WEFT_PROXY_UPSTREAM_UNAVAILABLE', 'cannot reach a sidecar of the service', { cause: err });
        this.routed?.connectFailed(key);
        this.attempt();
      },
    );
  }

  /** For the balancer: endpoints known down, or that already failed this request. */
  avoids(ep: Endpoint): boolean {
    const key = endpointKey(ep);
    return this.ctx.pool.isDown(key) || (this.failedKeys !== undefined && this.failedKeys.includes(key));
  }

  /** `reserved`: the session came from connect() with a stream slot held for this request. */
  onSession(ms: MeshSession, reserved: boolean): void {
    if (this.over) {
      if (reserved) this.ctx.pool.release(ms);
      return;
    }
    const misnamed = secureNamingError(this.entry, this.target, ms, this.ctx.stats, this.ctx.logger);
    if (misnamed !== undefined) {
      if (reserved) this.ctx.pool.release(ms);
      (this.failedKeys ??= []).push(ms.key);
      this.lastError = misnamed;
      this.routed?.connectFailed(ms.key);
      this.attempt();
      return;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = this.ctx.pool.request(ms, this.h2Headers, this.chunked ? WAIT_FOR_TRAILERS : this.noRequestBody ? END_STREAM : OPEN_STREAM, reserved);
    } catch (err) {
      // The session started closing between get() and request(): nothing was sent.
      this.ctx.pool.evict(ms);
      this.retryUnsent(err);
      return;
    }
    this.ms = ms;
    this.stream = stream;
    (stream as Tagged)[kExchange] = this;
    stream.on('response', onStreamResponse);
    stream.on('error', onStreamError);
    stream.once('close', onStreamClose);
    if (this.chunked) stream.once('wantTrailers', onWantTrailers);
    if (this.expectContinue) stream.once('continue', onStreamContinue);
    if (!this.noRequestBody && this.routed?.replay(stream) !== true) this.req.pipe(stream);
    this.routed?.sent(stream);
  }

  retryUnsent(cause: unknown): void {
    this.ctx.stats.outbound_requests_retried_total++;
    this.lastError = new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar closed the connection', { cause });
    // The endpoint did not fail; a GOAWAY'd session is no reason to move on from it.
    if (++this.unsentRetries > MAX_ATTEMPTS) {
      this.fail(this.lastError);
      return;
    }
    this.attempts--;
    this.routed?.unsent();
    this.attempt();
  }

  onResponse(headers: IncomingHttpHeaders, flags: number): void {
    const status = Number(headers[':status']);
    if (status >= 100 && status < 200) return; // interim responses are this hop's business
    if (this.routed !== undefined && this.routed.onStatus(status)) return;
    this.responded = true;
    const res = this.res;
    if (this.over || res.destroyed) return;
    if (this.ctx.draining) res.shouldKeepAlive = false;
    // Node refuses a Trailer announcement on a response it will not chunk; its trailers could not follow.
    if (headers.trailer !== undefined && (status === 204 || status === 304 || this.req.method === 'HEAD' || headers['content-length'] !== undefined)) headers = { ...headers, trailer: undefined };
    try {
      const flat = h2ToH1Headers(headers, [], false);
      res.writeHead(status, this.routed === undefined ? flat : this.routed.editResponse(flat));
    } catch (err) {
      this.stream?.close(h2c.NGHTTP2_CANCEL);
      this.fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'response headers cannot be relayed', { cause: err }));
      return;
    }
    // Refused before the body (417, 413, 401...): the caller never sent it, so this connection
    // cannot carry another request (RFC 9110 §10.1.1).
    if (this.expectContinue && !this.continued && !this.req.complete) res.shouldKeepAlive = false;
    if ((flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0) {
      this.endResponse();
      return;
    }
    // A hand-rolled relay rather than pipe(): two shared listeners instead of pipe's six
    // closures per request; backpressure pauses the h2 stream until the app's socket drains.
    const stream = this.stream!;
    stream.on('data', onStreamData);
    stream.once('end', onStreamEnd);
    if (headers['content-length'] === undefined) stream.once('trailers', onStreamTrailers);
  }

  /** The response is whole: its trailers, if any, then the end; a request body never asked for is called off. */
  endResponse(): void {
    const res = this.res;
    if (res.destroyed) return;
    if (this.trailers !== undefined) {
      const t = forwardableTrailers(this.trailers);
      if (!t.ok) {
        this.ctx.stats.trailer_sections_refused_total++;
        this.ctx.logger.log('info', 'outbound.trailers.refused', { service: `${this.target.service}.${this.target.namespace}`, reason: t.reason });
        res.destroy();
        return;
      }
      this.ctx.stats.trailer_fields_dropped_total += t.dropped;
      res.addTrailers(t.fields);
    }
    res.end();
    const stream = this.stream;
    if (this.expectContinue && !this.continued && !this.req.complete && stream !== undefined && !stream.destroyed) {
      // RFC 9113 §8.1: a complete response ends the exchange; NO_ERROR tells the peer to stop waiting for the body.
      this.req.unpipe(stream);
      stream.close(h2c.NGHTTP2_NO_ERROR);
    }
  }

  /** The request body ended: its trailers go as the stream's trailing HEADERS. */
  onWantTrailers(): void {
    const stream = this.stream!;
    const t = forwardableTrailers(this.req.trailers);
    if (!t.ok) {
      this.ctx.stats.trailer_sections_refused_total++;
      this.fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', `request trailers refused: ${t.reason}`));
      return;
    }
    this.ctx.stats.trailer_fields_dropped_total += t.dropped;
    if (!stream.destroyed) stream.sendTrailers(t.fields);
  }

  onStreamClose(): void {
    const stream = this.stream!;
    if (this.over) return;
    if (this.responded) {
      if (stream.rstCode === h2c.NGHTTP2_NO_ERROR) {
        this.finish();
        this.ctx.stats.outbound_requests_forwarded_total++;
      } else {
        // Cut mid-response: the app sees the connection drop, as from the server itself.
        this.finish();
        this.ctx.stats.outbound_requests_reset_total++;
        this.res.destroy();
      }
      return;
    }
    // No response. Safe to resend only if the peer never processed it and no body byte is gone.
    const unsent = stream.rstCode === h2c.NGHTTP2_REFUSED_STREAM || stream.id === undefined;
    if (unsent && (this.noRequestBody || !this.req.readableDidRead)) {
      if (!this.noRequestBody) this.req.unpipe(stream);
      this.ctx.pool.evict(this.ms!);
      this.stream = undefined;
      this.retryUnsent(new Error(`stream closed unsent (code ${stream.rstCode})`));
      return;
    }
    if (this.routed !== undefined && this.routed.onReset()) return;
    this.fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'the peer sidecar reset the request', { message: `stream reset by ${this.ms?.key} (code ${stream.rstCode})` }));
  }

  /** The app went away (or the response was fully written). */
  onResClose(): void {
    if (this.over) return;
    if (this.res.writableFinished) return;
    this.finish();
    this.ctx.stats.outbound_requests_reset_total++;
    if (this.stream !== undefined && !this.stream.destroyed) this.stream.close(h2c.NGHTTP2_CANCEL);
  }

  fail(err: ProxyError): void {
    if (this.over) return;
    this.finish();
    const s = this.ctx.stats;
    if (err.code === 'WEFT_PROXY_SECURE_NAMING') {
      // counted per miss in onSession
    } else if (err.code === 'WEFT_PROXY_NO_ENDPOINTS') s.outbound_requests_no_endpoints_total++;
    else s.outbound_requests_upstream_error_total++;
    if (this.stream !== undefined && !this.stream.destroyed) this.stream.close(h2c.NGHTTP2_CANCEL);
    if (this.ctx.draining) this.res.shouldKeepAlive = false;
    rescueH1(this.res, err, this.ctx.logger, this.ctx.emitErrorHeaders, {
      service: `${this.target.service}.${this.target.namespace}`,
      method: this.req.method,
      path: this.target.path,
      ...(this.endpoint ? { endpoint: endpointKey(this.endpoint) } : {}),
    }, s);
  }

  finish(): void {
    this.over = true;
    this.routed?.finish();
    this.ctx.stats.outbound_requests_active--;
    this.ctx.done();
  }
}

function onStreamResponse(this: ClientHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
  (this as Tagged)[kExchange]!.onResponse(headers, flags);
}

function onStreamData(this: ClientHttp2Stream, chunk: Buffer): void {
  const res = (this as Tagged)[kExchange]!.res;
  if (res.destroyed) return;
  if (!res.write(chunk)) {
    this.pause();
    res.once('drain', onResDrain);
  }
}

function onStreamEnd(this: ClientHttp2Stream): void {
  (this as Tagged)[kExchange]!.endResponse();
}

function onStreamTrailers(this: ClientHttp2Stream, trailers: IncomingHttpHeaders): void {
  (this as Tagged)[kExchange]!.trailers = trailers;
}

function onWantTrailers(this: ClientHttp2Stream): void {
  const ex = (this as Tagged)[kExchange]!;
  if (ex.stream === this) ex.onWantTrailers();
}

function onStreamContinue(this: ClientHttp2Stream): void {
  const ex = (this as Tagged)[kExchange]!;
  if (ex.stream !== this || ex.over || ex.res.destroyed) return;
  ex.continued = true;
  ex.res.writeContinue();
}

function onResDrain(this: ServerResponse): void {
  (this as Tagged)[kExchange]!.stream?.resume();
}

function onStreamError(this: ClientHttp2Stream): void {
  // Decided on 'close', where rstCode tells a refused stream from a reset one.
}

function onStreamClose(this: ClientHttp2Stream): void {
  const ex = (this as Tagged)[kExchange]!;
  if (ex.stream === this) ex.onStreamClose();
}

function onResClose(this: ServerResponse): void {
  (this as Tagged)[kExchange]!.onResClose();
}
