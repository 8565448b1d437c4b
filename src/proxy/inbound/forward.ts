// Inbound stage 3: relay one HTTP/2 stream from a peer sidecar to the local app as an HTTP/1.1
// request on a pooled keep-alive connection (undici's Pool: measured lighter per request than
// node:http's Agent, see bench/datapath), and the app's answer back. Bodies stream both ways:
// the request body is the h2 stream itself (undici reads it with backpressure), the response is
// written chunk by chunk with the dispatcher paused while the h2 stream is full. The request body
// goes to undici through a small Readable fed from the h2 stream: undici destroys the body it
// was given once sent, which must not destroy the stream the response still has to go out on.
// What the app receives is built by toAppRequest (request.ts) from the request as decided, the
// same function the plaintext path uses.
import { constants as h2c, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { h1ToH2Headers } from '../hop-headers.js';
import { rescueH2 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { HostPort } from '../types.js';
import { authorizeRequest, jwtOutputsOf, type InboundConnectionFacts, type InboundPolicy, type InboundVerdict } from './authorize.js';
import { readH2Request, toAppRequest, type InboundRequest } from './request.js';
import { relayTunnel } from './tunnel.js';
import type { InboundConnection } from './server.js';

const kExchange = Symbol('weft.inbound.exchange');
type Tagged = { [kExchange]?: InboundExchange };

/** A response the sidecar gives itself (a refusal): the request never reaches the app. */
function answerLocally(stream: ServerHttp2Stream, status: number, body: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.on('error', () => undefined);
  stream.respond({ ':status': status, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  stream.end(body);
}

// === InboundForwarder ===

/** Forwards streams to the app; one instance per proxy, holding the keep-alive pool. */
export class InboundForwarder {
  readonly app: HostPort;
  readonly pool: Pool;
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly emitErrorHeaders: boolean;
  readonly policy: (() => InboundPolicy | undefined) | undefined;

  constructor(opts: { app: HostPort; stats: ProxyStats; logger: Logger; emitErrorHeaders: boolean; policy?: () => InboundPolicy | undefined }) {
    this.app = opts.app;
    this.policy = opts.policy;
    this.stats = opts.stats;
    this.logger = opts.logger;
    this.emitErrorHeaders = opts.emitErrorHeaders;
    const host = opts.app.host.includes(':') ? `[${opts.app.host}]` : opts.app.host;
    // One request per connection at a time (no pipelining: a slow response must not hold up
    // others); the app's Keep-Alive timeout hint is honoured, so a closing socket is not reused.
    this.pool = new Pool(`http://${host}:${opts.app.port}`, { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  /**
   * The stream handler given to InboundListener. `rawHeaders` is the header list as received:
   * Node's header object drops repeats of some fields and joins others, and policy must see them all.
   */
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, conn: InboundConnection, rawHeaders: readonly string[]): void {
    const policy = this.policy?.();
    if (headers[':method'] === 'CONNECT') return relayTunnel(stream, this.app, policy, connectionFacts(stream, conn), this.stats, this.logger);
    this.stats.inbound_requests_total++;
    const read = readH2Request(rawHeaders, { jwtOutputs: jwtOutputsOf(policy), xfcc: conn.xfcc });
    if (!read.ok) {
      this.stats.inbound_requests_malformed_total++;
      this.logger.log('info', 'inbound.request.refused', { peer: conn.peerSpiffeId, reason: read.reason });
      return answerLocally(stream, 400, `bad request: ${read.reason}`);
    }
    if (policy === undefined) return this.#forward(stream, read.request, flags, conn);
    const facts = connectionFacts(stream, conn);
    const verdict = authorizeRequest(policy, read.request, facts, this.app.port, this.stats, this.logger, stream);
    if (!(verdict instanceof Promise)) return this.#decided(verdict, stream, flags, conn);
    verdict.then(
      (v) => (stream.destroyed ? undefined : this.#decided(v, stream, flags, conn)),
      (err: Error) => {
        this.logger.log('error', 'inbound.authn.error', { error: err.message });
        answerLocally(stream, 500, 'internal error');
      },
    );
  }

  #decided(verdict: InboundVerdict, stream: ServerHttp2Stream, flags: number, conn: InboundConnection): void {
    if (!verdict.allow) return answerLocally(stream, verdict.status, verdict.body);
    this.#forward(stream, verdict.request, flags, conn);
  }

  #forward(stream: ServerHttp2Stream, request: InboundRequest, flags: number, conn: InboundConnection): void {
    this.stats.inbound_requests_active++;
    const ex = new InboundExchange(this, stream, request, (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0, conn);
    (stream as Tagged)[kExchange] = ex;
    stream.on('error', onStreamError);
    stream.once('close', onStreamClose);
    ex.send();
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Once per connection: every stream of a session shares its peer, addresses and SNI. */
function connectionFacts(stream: ServerHttp2Stream, conn: InboundConnection): InboundConnectionFacts {
  if (conn.facts !== undefined) return conn.facts;
  const socket = stream.session?.socket as TLSSocket | undefined;
  return (conn.facts = { peerSpiffeId: conn.peerSpiffeId, sourceIp: socket?.remoteAddress, destinationIp: socket?.localAddress, sni: typeof socket?.servername === 'string' ? socket.servername : undefined });
}

// === InboundExchange ===

/** One request's state, and the undici dispatch handler for it. */
class InboundExchange implements Dispatcher.DispatchHandler {
  readonly fwd: InboundForwarder;
  readonly stream: ServerHttp2Stream;
  readonly method: string;
  readonly path: string;
  readonly h1Headers: string[];
  readonly noRequestBody: boolean;
  readonly peer: string;
  controller: Dispatcher.DispatchController | undefined;
  /** What undici reads the request body from; undefined for a body-less request. */
  body: Readable | undefined;
  bodyEnded = false;
  responded = false;
  completed = false;
  retried = false;
  finished = false;

  constructor(fwd: InboundForwarder, stream: ServerHttp2Stream, request: InboundRequest, endStream: boolean, conn: InboundConnection) {
    this.fwd = fwd;
    this.stream = stream;
    const sent = toAppRequest(request);
    this.method = sent.method;
    this.path = sent.path;
    this.h1Headers = sent.headers;
    this.noRequestBody = endStream;
    this.peer = conn.peerSpiffeId;
  }

  send(): void {
    if (this.method === 'CONNECT') {
      this.fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', 'CONNECT is not supported on the inbound port'));
      return;
    }
    if (!this.noRequestBody) this.body = this.newBody();
    try {
      this.fwd.pool.dispatch({ path: this.path, method: this.method, headers: this.h1Headers, body: this.body ?? null }, this);
    } catch (err) {
      // undici refuses a header it will not send (expect, a malformed value...).
      this.fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', 'request cannot be relayed to the app', { message: (err as Error).message, cause: err }));
    }
  }

  newBody(): Readable {
    const stream = this.stream;
    if (this.body === undefined) {
      stream.on('data', onBodyData);
      stream.once('end', onBodyEnd);
    }
    return new Readable({
      read(): void {
        if (stream.isPaused()) stream.resume();
      },
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished || this.stream.destroyed) controller.abort(new Error('the peer went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx stays on this hop
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      controller.abort(new Error('the peer went away'));
      return;
    }
    this.responded = true;
    const h2 = h1ToH2Headers(headers, { ':status': statusCode });
    const noBody = this.method === 'HEAD' || statusCode === 204 || statusCode === 304 || headers['content-length'] === '0';
    try {
      stream.respond(h2, { endStream: noBody });
    } catch (err) {
      // A header the app sent that HTTP/2 refuses (ERR_HTTP2_INVALID_HEADER_VALUE and friends).
      controller.abort(err as Error);
      this.responded = false;
      this.fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', 'app response headers cannot be relayed over HTTP/2', { cause: err }));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return;
    if (!stream.write(chunk)) {
      controller.pause();
      stream.once('drain', onStreamDrain);
    }
  }

  onResponseEnd(): void {
    this.completed = true;
    const stream = this.stream;
    if (!stream.destroyed && !stream.writableEnded) stream.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error & { code?: string }): void {
    if (this.finished || this.stream.destroyed) return;
    if (this.responded) {
      // The app broke off mid-response; the peer sees a reset stream.
      this.stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    // A pooled keep-alive connection the app closed as we reused it: nothing of this request was
    // processed, so one retry on a fresh connection is safe if no body byte has been consumed.
    if (!this.retried && err.code === 'UND_ERR_SOCKET' && (this.noRequestBody || !this.stream.readableDidRead)) {
      this.retried = true;
      this.send();
      return;
    }
    const unreachable = err.code === 'ECONNREFUSED' || err.code === 'UND_ERR_SOCKET' || err.code === 'ECONNRESET' || err.code === 'UND_ERR_CONNECT_TIMEOUT';
    this.fail(
      new ProxyError(unreachable ? 'WEFT_PROXY_APP_UNAVAILABLE' : 'WEFT_PROXY_UPSTREAM_RESET', unreachable ? 'app unavailable' : 'app connection failed', {
        message: `app ${this.fwd.app.host}:${this.fwd.app.port}: ${err.message}`,
        cause: err,
      }),
    );
  }

  fail(err: ProxyError): void {
    this.finished = true;
    this.fwd.stats.inbound_requests_failed_total++;
    rescueH2(this.stream, err, this.fwd.logger, this.fwd.emitErrorHeaders, { peer: this.peer, method: this.method, path: this.path }, this.fwd.stats);
  }

  onStreamClose(): void {
    const stats = this.fwd.stats;
    stats.inbound_requests_active--;
    if (this.finished) return;
    this.finished = true;
    if (this.stream.rstCode === h2c.NGHTTP2_NO_ERROR && this.completed) {
      stats.inbound_requests_forwarded_total++;
      return;
    }
    stats.inbound_requests_reset_total++;
    const err = new Error('the peer reset the stream');
    if (this.body !== undefined && !this.bodyEnded) this.body.destroy(err);
    if (this.controller !== undefined && !this.controller.aborted) this.controller.abort(err);
  }
}

function onBodyData(this: ServerHttp2Stream, chunk: Buffer): void {
  const body = (this as Tagged)[kExchange]!.body;
  if (body !== undefined && !body.push(chunk)) this.pause();
}

function onBodyEnd(this: ServerHttp2Stream): void {
  const ex = (this as Tagged)[kExchange]!;
  ex.bodyEnded = true;
  ex.body?.push(null);
}

function onStreamDrain(this: ServerHttp2Stream): void {
  (this as Tagged)[kExchange]!.controller?.resume();
}

function onStreamError(this: ServerHttp2Stream): void {
  // Handled on 'close' (the peer reset the stream or the session died).
}

function onStreamClose(this: ServerHttp2Stream): void {
  (this as Tagged)[kExchange]!.onStreamClose();
}
