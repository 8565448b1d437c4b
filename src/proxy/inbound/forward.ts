// Inbound stage 3: relay one HTTP/2 stream from a peer sidecar to the local app as an HTTP/1.1
// request on a pooled keep-alive connection (undici's Pool: measured lighter per request than
// node:http's Agent, see bench/datapath), and the app's answer back. Bodies stream both ways:
// the request body is the h2 stream itself (undici reads it with backpressure), the response is
// written chunk by chunk with the dispatcher paused while the h2 stream is full. The request body
// goes to undici through a small Readable fed from the h2 stream: undici destroys the body it
// was given once sent, which must not destroy the stream the response still has to go out on.
// What the app receives is built by toAppRequest (request.ts) from the request as decided, the
// same function the plaintext path uses.
import type { Agent } from 'node:http';
import { constants as h2c, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { h1ToH2Headers } from '../hop-headers.js';
import { rescueH2 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { AppProtocol, HostPort, InboundPort } from '../types.js';
import { authorityPort } from '../outbound/route.js';
import { grpcLocalReply, grpcStatusOfHttp, isGrpcContentType } from '../grpc-status.js';
import { VIA_H2_HEADER } from '../h2-relay.js';
import { AppH2Pool, forwardToAppH2, wantsAppH2, type AppH2Context } from './app-h2.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { forwardableTrailers } from '../trailers.js';
import { needsNodeHttp, newAppAgent, relayWithNodeHttp, type RelayHost } from './h1-relay.js';
import { asUpgradeRequest, PROTOCOL_TOKEN, relayUpgrade } from './upgrade.js';
import { authorizeRequest, jwtOutputsOf, type InboundConnectionFacts, type InboundPolicy, type InboundVerdict } from './authorize.js';
import { readH2Request, toAppRequest, type InboundRequest } from './request.js';
import { relayTunnel } from './tunnel.js';
import type { InboundConnection } from './server.js';

const kExchange = Symbol('weft.inbound.exchange');
const END_STREAM = { endStream: true } as const;
const OPEN_STREAM = { endStream: false } as const;
const WAIT_FOR_TRAILERS = { endStream: false, waitForTrailers: true } as const;
type Tagged = { [kExchange]?: InboundExchange };

/**
 * A response the sidecar gives itself (a refusal): the request never reaches the app. To a gRPC
 * call it is a trailers-only status, as Envoy answers (403 RBAC: PERMISSION_DENIED).
 */
function answerLocally(stream: ServerHttp2Stream, status: number, body: string, grpc = false): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.on('error', () => undefined);
  if (grpc) {
    stream.respond(grpcLocalReply(grpcStatusOfHttp(status), body), { endStream: true });
    return;
  }
  stream.respond({ ':status': status, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  stream.end(body);
}

// === InboundForwarder ===

/** Forwards streams to the app; one instance per proxy, holding a keep-alive pool per app port. */
export class InboundForwarder {
  readonly app: HostPort;
  /** For requests undici cannot carry (expectations, request trailers): see h1-relay.ts. */
  readonly agent: Agent = newAppAgent();
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly emitErrorHeaders: boolean;
  readonly policy: (() => InboundPolicy | undefined) | undefined;
  /** What the app's ports speak when a port does not say (see SidecarProxyOptions.appProtocol). */
  readonly appProtocol: AppProtocol;
  /** The service ports of the workload; empty: one port, the app's. */
  readonly ports: readonly InboundPort[];
  readonly #pools = new Map<number, Pool>();
  /** h2c sessions to the app per app port, for gRPC and HTTP/2 end to end (app-h2.ts). */
  readonly #h2 = new Map<number, AppH2Context>();
  readonly #clock: Clock;

  constructor(opts: { app: HostPort; ports?: readonly InboundPort[]; stats: ProxyStats; logger: Logger; emitErrorHeaders: boolean; policy?: () => InboundPolicy | undefined; appProtocol?: AppProtocol; clock?: Clock }) {
    this.app = opts.app;
    this.ports = opts.ports ?? [];
    this.appProtocol = opts.appProtocol ?? 'auto';
    this.#clock = opts.clock ?? systemClock;
    this.policy = opts.policy;
    this.stats = opts.stats;
    this.logger = opts.logger;
    this.emitErrorHeaders = opts.emitErrorHeaders;
  }

  /** The app port of a request that names no port (or, from a plaintext client, the listener's). */
  get defaultAppPort(): number {
    return this.ports[0]?.targetPort ?? this.app.port;
  }

  /**
   * The app port a request for `authority` goes to: the target port of the service port it names,
   * the first one when it names none. A workload with a single port takes any port there (one app:
   * today's behaviour, and replicas whose single port numbers differ); so does a plaintext client
   * (`lenient`), which addresses this listener rather than a service port.
   */
  appPortFor(authority: string | undefined, lenient = false): number | ProxyError {
    if (this.ports.length === 0) return this.app.port;
    if (this.ports.length === 1) return this.ports[0]!.targetPort;
    const port = authority === undefined ? undefined : authorityPort(authority);
    if (port === undefined) return this.defaultAppPort;
    const match = this.ports.find((p) => p.port === port);
    if (match !== undefined) return match.targetPort;
    if (lenient) return this.defaultAppPort;
    const known = this.ports.map((p) => (p.name === '' ? String(p.port) : `${p.port} (${p.name})`)).join(', ');
    return new ProxyError('WEFT_PROXY_UNKNOWN_PORT', `this workload serves no port ${port}; its ports: ${known}`);
  }

  /** The h2c sessions to the app on `port`, with what the relay needs. */
  h2For(port: number): AppH2Context {
    let ctx = this.#h2.get(port);
    if (ctx === undefined) {
      const app = { host: this.app.host, port };
      ctx = { h2: new AppH2Pool({ app, stats: this.stats, logger: this.logger, clock: this.#clock }), stats: this.stats, logger: this.logger, emitErrorHeaders: this.emitErrorHeaders, app };
      this.#h2.set(port, ctx);
    }
    return ctx;
  }

  /** The keep-alive pool to the app on `port`. */
  pool(port: number = this.defaultAppPort): Pool {
    let pool = this.#pools.get(port);
    if (pool === undefined) {
      const host = this.app.host.includes(':') ? `[${this.app.host}]` : this.app.host;
      // One request per connection at a time (no pipelining: a slow response must not hold up
      // others); the app's Keep-Alive timeout hint is honoured, so a closing socket is not reused.
      pool = new Pool(`http://${host}:${port}`, { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
      this.#pools.set(port, pool);
    }
    return pool;
  }

  /**
   * The stream handler given to InboundListener. `rawHeaders` is the header list as received:
   * Node's header object drops repeats of some fields and joins others, and policy must see them all.
   */
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, conn: InboundConnection, rawHeaders: readonly string[]): void {
    const policy = this.policy?.();
    const appPort = this.appPortFor(headers[':authority'] ?? headers.host);
    if (appPort instanceof ProxyError) {
      this.stats.inbound_requests_total++;
      this.stats.inbound_requests_malformed_total++;
      stream.on('error', () => undefined);
      return rescueH2(stream, appPort, this.logger, this.emitErrorHeaders, { peer: conn.peerSpiffeId, authority: headers[':authority'] ?? null }, this.stats, isGrpcContentType(headers['content-type']));
    }
    // An extended CONNECT (RFC 8441) is an upgrade, decided as the GET it stands for; nghttp2 already
    // refused `:protocol` on any other method.
    const protocol = headers[':protocol'] as string | undefined;
    if (headers[':method'] === 'CONNECT' && protocol === undefined) return relayTunnel(stream, { host: this.app.host, port: appPort }, policy, connectionFacts(stream, conn), this.stats, this.logger);
    this.stats.inbound_requests_total++;
    const grpc = isGrpcContentType(headers['content-type']);
    if (grpc) this.stats.inbound_grpc_requests_total++;
    // The calling sidecar's mark: its app spoke HTTP/2 (outbound/h2-exchange.ts).
    const h2 = wantsAppH2(this.appProtocol, grpc, headers[VIA_H2_HEADER] === 'h2', this.h2For(appPort).h2);
    const read = readH2Request(rawHeaders, { jwtOutputs: jwtOutputsOf(policy), xfcc: conn.xfcc });
    if (!read.ok || (protocol !== undefined && (!PROTOCOL_TOKEN.test(protocol) || (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0))) {
      const reason = !read.ok ? read.reason : 'the upgrade names no single protocol token, or ends before it could switch';
      this.stats.inbound_requests_malformed_total++;
      this.logger.log('info', 'inbound.request.refused', { peer: conn.peerSpiffeId, reason });
      return answerLocally(stream, 400, `bad request: ${reason}`, grpc);
    }
    const request = protocol === undefined ? read.request : asUpgradeRequest(read.request);
    if (policy === undefined) return this.#forward(stream, request, flags, conn, appPort, protocol, grpc, h2);
    const facts = connectionFacts(stream, conn);
    const verdict = authorizeRequest(policy, request, facts, appPort, this.stats, this.logger, stream);
    if (!(verdict instanceof Promise)) return this.#decided(verdict, stream, flags, conn, appPort, protocol, grpc, h2);
    verdict.then(
      (v) => (stream.destroyed ? undefined : this.#decided(v, stream, flags, conn, appPort, protocol, grpc, h2)),
      (err: Error) => {
        this.logger.log('error', 'inbound.authn.error', { error: err.message });
        answerLocally(stream, 500, 'internal error', grpc);
      },
    );
  }

  #decided(verdict: InboundVerdict, stream: ServerHttp2Stream, flags: number, conn: InboundConnection, appPort: number, protocol: string | undefined, grpc: boolean, h2: boolean): void {
    if (!verdict.allow) return answerLocally(stream, verdict.status, verdict.body, grpc);
    this.#forward(stream, verdict.request, flags, conn, appPort, protocol, grpc, h2);
  }

  #forward(stream: ServerHttp2Stream, request: InboundRequest, flags: number, conn: InboundConnection, appPort: number, protocol: string | undefined, grpc = false, h2 = false): void {
    if (protocol !== undefined) return relayUpgrade({ host: this.app.host, port: appPort }, this.stats, this.logger, this.emitErrorHeaders, stream, request, protocol, conn.peerSpiffeId);
    const endStream = (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0;
    if (h2) {
      // 'auto' falls back to HTTP/1.1 for an app that turns h2c down; gRPC has no HTTP/1.1 form.
      const fallback = this.appProtocol === 'auto' && !grpc ? () => this.#forward(stream, request, flags, conn, appPort, undefined) : undefined;
      return forwardToAppH2(this.h2For(appPort), stream, request, endStream, grpc, conn.peerSpiffeId, fallback);
    }
    this.stats.inbound_requests_active++;
    if (needsNodeHttp(request, endStream)) return relayWithNodeHttp(this.#relayHost(appPort), stream, request, endStream, conn.peerSpiffeId);
    const ex = new InboundExchange(this, stream, request, endStream, conn, appPort);
    (stream as Tagged)[kExchange] = ex;
    stream.on('error', onStreamError);
    stream.once('close', onStreamClose);
    ex.send();
  }

  /** What the node:http relay needs to reach the app on `port`. */
  #relayHost(port: number): RelayHost {
    return { app: { host: this.app.host, port }, agent: this.agent, stats: this.stats, logger: this.logger, emitErrorHeaders: this.emitErrorHeaders, jwtOutputs: () => this.jwtOutputs() };
  }

  /** RequestAuthentication's output headers in force: a trailer may not carry them either. */
  jwtOutputs(): readonly string[] {
    return jwtOutputsOf(this.policy?.());
  }

  async close(): Promise<void> {
    for (const ctx of this.#h2.values()) ctx.h2.destroy();
    this.agent.destroy();
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
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
  readonly appPort: number;
  controller: Dispatcher.DispatchController | undefined;
  /** What undici reads the request body from; undefined for a body-less request. */
  body: Readable | undefined;
  bodyEnded = false;
  responded = false;
  completed = false;
  /** The app's response trailers, sent as trailing HEADERS once the body is out. */
  trailers: IncomingHttpHeaders | null | undefined;
  retried = false;
  finished = false;

  constructor(fwd: InboundForwarder, stream: ServerHttp2Stream, request: InboundRequest, endStream: boolean, conn: InboundConnection, appPort: number) {
    this.fwd = fwd;
    this.appPort = appPort;
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
      this.fwd.pool(this.appPort).dispatch({ path: this.path, method: this.method, headers: this.h1Headers, body: this.body ?? null }, this);
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
    // A body without a length may end in trailers: the stream keeps its end for them.
    const chunked = !noBody && headers['content-length'] === undefined;
    try {
      stream.respond(h2, noBody ? END_STREAM : chunked ? WAIT_FOR_TRAILERS : OPEN_STREAM);
      if (chunked) stream.once('wantTrailers', onWantTrailers);
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

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders | null): void {
    this.trailers = trailers;
    this.completed = true;
    const stream = this.stream;
    if (!stream.destroyed && !stream.writableEnded) stream.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error & { code?: string }): void {
    if (this.finished || this.stream.destroyed) return;
    if (this.responded) {
      // The app broke off mid-response (or broke HTTP/1.1 framing); the peer sees a reset stream.
      this.fwd.logger.log('info', 'inbound.response.cut', { peer: this.peer, path: this.path, error: err.message });
      this.stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    // A 101 to a request that asked for no upgrade: the app switched protocols on its own.
    if (err.code === 'UND_ERR_SOCKET' && err.message === 'bad upgrade') {
      this.fail(new ProxyError('WEFT_PROXY_UPGRADE_FAILED', 'the app switched protocols on a request that asked for no upgrade', { message: `app ${this.fwd.app.host}:${this.fwd.app.port}: ${err.message}`, cause: err }));
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
        message: `app ${this.fwd.app.host}:${this.appPort}: ${err.message}`,
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

function onWantTrailers(this: ServerHttp2Stream): void {
  const ex = (this as Tagged)[kExchange]!;
  const t = forwardableTrailers(ex.trailers);
  if (!t.ok) {
    ex.fwd.stats.trailer_sections_refused_total++;
    ex.fwd.logger.log('info', 'inbound.trailers.refused', { peer: ex.peer, reason: t.reason });
    this.close(h2c.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  ex.fwd.stats.trailer_fields_dropped_total += t.dropped;
  this.sendTrailers(t.fields);
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
