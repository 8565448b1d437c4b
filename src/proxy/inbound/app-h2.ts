// Inbound to the app over h2c (HTTP/2 with prior knowledge): gRPC servers speak only HTTP/2, and a
// request whose caller spoke HTTP/2 end to end should reach an HTTP/2 app the same way. A few
// pooled sessions to the app carry every such request as one stream each; a session is replaced
// when the app sends GOAWAY or closes it, and when every one is full another is opened, up to
// MAX_APP_SESSIONS, past which the request is refused at once (waiting in nghttp2 for a free slot
// would have no end behind long-lived streams). With `appProtocol: 'auto'`, an app found not to
// speak h2c (it answered the preface with anything but SETTINGS) gets HTTP/1.1 for a while.
import { connect as connectH2, constants as h2c, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { connect as connectNet } from 'node:net';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { H2Relay, type RelayOwner } from '../h2-relay.js';
import { MESH_H2_SETTINGS } from './server.js';
import { rescueH2 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { AppProtocol, HostPort } from '../types.js';
import type { InboundRequest } from './request.js';

/** Sessions kept to the app at most. */
export const MAX_APP_SESSIONS = 4;
const CONNECT_TIMEOUT_MS = 5_000;
/** How long 'auto' sends HTTP/1.1 after the app turned h2c down, before trying h2c again. */
const H1_ONLY_MS = 60_000;

interface AppSession {
  readonly session: ClientHttp2Session;
  streams: number;
  limit: number;
}

/** The app refused h2c: it answered the preface, but not with HTTP/2. */
class NotH2 extends Error {}

/**
 * Whether a request goes to the app over h2c. 'auto': gRPC always (it has no HTTP/1.1 form); a
 * request the caller's app sent over HTTP/2 unless the app turned h2c down lately.
 */
export function wantsAppH2(protocol: AppProtocol, grpc: boolean, viaH2: boolean, pool: AppH2Pool): boolean {
  if (protocol === 'http2' || protocol === 'grpc') return true;
  if (protocol === 'http') return false;
  return grpc || (viaH2 && !pool.refusesH2);
}

// === AppH2Pool ===

export class AppH2Pool {
  readonly #app: HostPort;
  readonly #stats: ProxyStats;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #sessions: AppSession[] = [];
  #connecting: Promise<AppSession> | undefined;
  #h1OnlyUntil = 0;

  constructor(opts: { app: HostPort; stats: ProxyStats; logger: Logger; clock: Clock }) {
    this.#app = opts.app;
    this.#stats = opts.stats;
    this.#logger = opts.logger;
    this.#clock = opts.clock;
  }

  /** True while the app is known to answer h2c with something else. */
  get refusesH2(): boolean {
    return this.#h1OnlyUntil > this.#clock.now();
  }

  /**
   * Opens a stream to the app on a session with a free slot, connecting when needed.
   *
   * @throws ProxyError WEFT_PROXY_APP_UNAVAILABLE (connect failed, or the app does not speak
   *   h2c: then `notH2` is true), WEFT_PROXY_STREAMS_EXHAUSTED (every session is full).
   */
  async request(headers: OutgoingHttpHeaders, endStream: boolean): Promise<ClientHttp2Stream> {
    for (let round = 0; round <= MAX_APP_SESSIONS; round++) {
      const s = this.#free();
      if (s !== undefined) {
        let stream: ClientHttp2Stream;
        try {
          stream = s.session.request(headers, endStream ? { endStream: true } : { waitForTrailers: true });
        } catch (err) {
          // A session that started closing: take it out and try the next; anything else is the headers' fault.
          if ((err as { code?: string }).code !== 'ERR_HTTP2_GOAWAY_SESSION' && (err as { code?: string }).code !== 'ERR_HTTP2_INVALID_SESSION') throw err;
          this.#forget(s);
          continue;
        }
        s.streams++;
        stream.once('close', () => s.streams--);
        return stream;
      }
      if (this.#connecting === undefined && this.#sessions.length >= MAX_APP_SESSIONS) break;
      try {
        await (this.#connecting ??= this.#open().finally(() => (this.#connecting = undefined)));
      } catch (err) {
        const notH2 = err instanceof NotH2;
        if (notH2) this.#h1OnlyUntil = this.#clock.now() + H1_ONLY_MS;
        throw new ProxyError('WEFT_PROXY_APP_UNAVAILABLE', notH2 ? 'app does not speak h2c' : 'app unavailable', {
          message: `h2c to app ${this.#app.host}:${this.#app.port}: ${(err as Error).message}`,
          cause: err,
          fields: { notH2 },
        });
      }
    }
    throw new ProxyError('WEFT_PROXY_STREAMS_EXHAUSTED', 'every h2c session to the app is at its stream limit', { fields: { sessions: this.#sessions.length } });
  }

  #forget(s: AppSession): void {
    const i = this.#sessions.indexOf(s);
    if (i !== -1) this.#sessions.splice(i, 1);
  }

  #free(): AppSession | undefined {
    for (const s of this.#sessions) if (!s.session.closed && !s.session.destroyed && s.streams < s.limit) return s;
    return undefined;
  }

  #open(): Promise<AppSession> {
    const host = this.#app.host.includes(':') ? `[${this.#app.host}]` : this.#app.host;
    return new Promise<AppSession>((resolve, reject) => {
      const app = this.#app;
      const session = connectH2(`http://${host}:${app.port}`, {
        settings: { initialWindowSize: MESH_H2_SETTINGS.initialWindowSize },
        maxSessionMemory: 64,
        // Small gRPC messages must not wait for Nagle's algorithm.
        createConnection: () => connectNet({ host: app.host, port: app.port, noDelay: true }),
      });
      let connected = false;
      let ready = false;
      const timer = setTimeout(() => session.destroy(new Error('connect timed out')), CONNECT_TIMEOUT_MS);
      session.once('connect', () => (connected = true));
      session.once('remoteSettings', (settings) => {
        clearTimeout(timer);
        ready = true;
        const s: AppSession = { session, streams: 0, limit: settings.maxConcurrentStreams ?? 0xffffffff };
        session.on('remoteSettings', (next) => (s.limit = next.maxConcurrentStreams ?? 0xffffffff));
        this.#sessions.push(s);
        this.#stats.inbound_app_h2_sessions_active++;
        const forget = (): void => this.#forget(s);
        session.once('goaway', forget);
        session.once('close', () => {
          forget();
          this.#stats.inbound_app_h2_sessions_active--;
        });
        this.#logger.log('debug', 'inbound.app_h2.session.opened', { app: `${this.#app.host}:${this.#app.port}`, streams: s.limit });
        resolve(s);
      });
      session.on('error', (err: Error) => {
        if (ready) return void this.#logger.log('debug', 'inbound.app_h2.session.error', { error: err.message });
        clearTimeout(timer);
        reject(connected ? new NotH2(err.message) : err);
      });
      session.once('close', () => {
        clearTimeout(timer);
        // Connected, then closed without SETTINGS: whatever listens there is not an h2c server.
        if (!ready) reject(connected ? new NotH2('closed before HTTP/2 SETTINGS') : new Error('closed before it was ready'));
      });
    });
  }

  async close(): Promise<void> {
    const open = this.#sessions.splice(0);
    await Promise.all(open.map((s) => new Promise<void>((resolve) => (s.session.destroyed ? resolve() : s.session.close(() => resolve())))));
  }

  /** Destroys every session at once (drain's deadline passed). */
  destroy(): void {
    for (const s of this.#sessions.splice(0)) s.session.destroy();
  }
}

// === AppH2Exchange ===

/** The headers the app receives over h2c: exactly the decided request, as toAppRequest gives HTTP/1.1. */
export function toAppH2Headers(req: InboundRequest): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': req.method, ':path': req.target, ':authority': req.authority, ':scheme': 'http' };
  const fields = req.fields;
  for (const name of Object.keys(fields)) {
    const value = fields[name]!;
    out[name] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

export interface AppH2Context {
  readonly h2: AppH2Pool;
  readonly stats: ProxyStats;
  readonly logger: Logger;
  readonly emitErrorHeaders: boolean;
  readonly app: HostPort;
}

/**
 * Relays a decided request to the app over h2c. `fallback` sends it over HTTP/1.1 instead when
 * the app turns h2c down and the request is not gRPC (only 'auto' passes one).
 */
export function forwardToAppH2(ctx: AppH2Context, stream: ServerHttp2Stream, request: InboundRequest, endStream: boolean, grpc: boolean, peer: string, fallback: (() => void) | undefined): void {
  const ex = new AppH2Exchange(ctx, stream, request, endStream, grpc, peer);
  let headers: OutgoingHttpHeaders;
  try {
    headers = toAppH2Headers(request);
  } catch (err) {
    return ex.fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', 'request cannot be relayed to the app over HTTP/2', { cause: err }));
  }
  ctx.h2.request(headers, endStream).then(
    (up) => ex.relay(up),
    (err: unknown) => {
      if (!(err instanceof ProxyError)) {
        // node:http2 refused the headers (a repeated single-value field, a forbidden name).
        return ex.fail(new ProxyError('WEFT_PROXY_BAD_REQUEST', 'request cannot be relayed to the app over HTTP/2', { message: (err as Error).message, cause: err }));
      }
      if (fallback !== undefined && err.fields.notH2 === true && !stream.readableDidRead && !stream.destroyed) {
        ex.handOver();
        return fallback();
      }
      ex.fail(err);
    },
  );
}

class AppH2Exchange implements RelayOwner {
  readonly ctx: AppH2Context;
  readonly stream: ServerHttp2Stream;
  readonly method: string;
  readonly path: string;
  readonly grpc: boolean;
  readonly peer: string;
  readonly endStream: boolean;
  relayer: H2Relay | undefined;
  handedOver = false;
  over = false;

  constructor(ctx: AppH2Context, stream: ServerHttp2Stream, request: InboundRequest, endStream: boolean, grpc: boolean, peer: string) {
    this.ctx = ctx;
    this.stream = stream;
    this.method = request.method;
    this.path = request.target;
    this.grpc = grpc;
    this.peer = peer;
    this.endStream = endStream;
    ctx.stats.inbound_requests_active++;
    ctx.stats.inbound_app_h2_requests_total++;
    stream.on('error', () => undefined);
    stream.once('close', () => this.onClose());
  }

  relay(up: ClientHttp2Stream): void {
    if (this.stream.destroyed || this.stream.closed) {
      up.close(h2c.NGHTTP2_CANCEL);
      return;
    }
    this.relayer = new H2Relay(this.stream, up, this, this.endStream);
  }

  upstreamFailed(rstCode: number, cause?: unknown): void {
    const reason = rstCode === -1 ? 'app response headers cannot be relayed over HTTP/2' : 'the app reset the request';
    this.fail(new ProxyError('WEFT_PROXY_UPSTREAM_RESET', reason, { message: `app ${this.ctx.app.host}:${this.ctx.app.port}: ${reason} (code ${rstCode})`, cause }));
  }

  /** The request goes over HTTP/1.1 after all: this exchange counts nothing more. */
  handOver(): void {
    this.handedOver = true;
    this.ctx.stats.inbound_requests_active--;
    this.ctx.stats.inbound_app_h2_requests_total--;
  }

  fail(err: ProxyError): void {
    this.ctx.stats.inbound_requests_failed_total++;
    rescueH2(this.stream, err, this.ctx.logger, this.ctx.emitErrorHeaders, { peer: this.peer, method: this.method, path: this.path }, this.ctx.stats, this.grpc);
    if (!this.stream.readableEnded) this.stream.resume();
  }

  onClose(): void {
    if (this.over || this.handedOver) return;
    this.over = true;
    const stats = this.ctx.stats;
    stats.inbound_requests_active--;
    const complete = this.relayer?.downClosed() ?? false;
    if (complete) stats.inbound_requests_forwarded_total++;
    else if (this.stream.rstCode !== h2c.NGHTTP2_NO_ERROR) stats.inbound_requests_reset_total++;
  }
}
