// HTTP/2 from the app on the outbound port. The port stays one listener: the first bytes of a
// connection tell HTTP/2 with prior knowledge (the client preface, RFC 9113 §3.4) from HTTP/1.1,
// which goes to the node:http server unchanged. HTTP/2 connections, and CONNECT tunnels whose
// first bytes inside are the preface (grpc-js behind `grpc_proxy`), are served by one h2c server
// here, each stream routed and forwarded on its own (h2-exchange.ts). An app connection gets the
// same bounds as a mesh peer's: the concurrent streams the mesh allows per session, the same
// flow-control windows and session memory, a PING when idle.
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ConnectionGuard } from '../../lib/connection-guard.js';
import { MESH_H2_SETTINGS } from '../inbound/server.js';
import { DEFAULT_KEEPALIVE_INTERVAL_MS, watchSessionLiveness } from '../session-liveness.js';
import { handleAppStream, type OutboundH2Context } from './h2-exchange.js';

/** The HTTP/2 client connection preface. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** An app's h2c session with no stream for this long is closed gracefully (GOAWAY). */
const SESSION_IDLE_MS = 300_000;

const kDefaultAuthority = Symbol('weft.outbound.h2.authority');
type Tagged = { [kDefaultAuthority]?: string };

/**
 * Reads the first bytes of `socket` until they either diverge from the HTTP/2 preface or match
 * all of it, then calls `decided` once with the bytes read (the caller puts them back) and whether
 * the socket ended first. At most 24 bytes are looked at; the caller bounds the wait.
 */
export function sniffPreface(socket: Socket, initial: Buffer, decided: (h2: boolean, bytes: Buffer, ended: boolean) => void): () => void {
  let buf = initial;
  let done = false;
  const finish = (h2: boolean, ended: boolean): void => {
    done = true;
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    decided(h2, buf, ended);
  };
  const check = (): boolean => {
    const n = Math.min(buf.length, H2_PREFACE.length);
    if (buf.compare(H2_PREFACE, 0, n, 0, n) !== 0) return finish(false, false), true;
    if (buf.length >= H2_PREFACE.length) return finish(true, false), true;
    return false;
  };
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while (!done && (chunk = socket.read() as Buffer | null) !== null) {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (check()) return;
    }
  };
  const onEnd = (): void => {
    if (!done) finish(false, true);
  };
  if (initial.length > 0 && check()) return () => undefined;
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
  return () => {
    if (done) return;
    done = true;
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
  };
}

/**
 * True while `bytes` may be the start of an HTTP/2 server's connection preface: a SETTINGS frame
 * (type 4, no flags, stream 0, a length that is a multiple of 6), which an h2c server sends as
 * soon as a connection opens.
 */
function mayBeSettings(bytes: Buffer): boolean {
  if (bytes.length >= 3 && (((bytes[0]! << 16) | (bytes[1]! << 8) | bytes[2]!) % 6 !== 0)) return false;
  if (bytes.length >= 4 && bytes[3] !== 0x04) return false;
  if (bytes.length >= 5 && bytes[4] !== 0x00) return false;
  for (let i = 5; i < Math.min(bytes.length, 9); i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Decides what an open CONNECT tunnel carries, from what the app says first: the HTTP/2 preface,
 * or anything else (then it is TCP). The server behind the tunnel may speak first: an h2c
 * server's SETTINGS is held back until the app has spoken (the app is then an HTTP/2 client and
 * will send its preface), any other first bytes make the tunnel TCP at once, so a server-first
 * protocol (SMTP, MySQL) is never kept waiting. `decided` gets the bytes read from each side.
 */
export function sniffTunnel(
  upstream: Readable,
  socket: Socket,
  head: Buffer,
  decided: (h2: boolean, fromApp: Buffer, fromServer: Buffer, appEnded: boolean) => void,
): void {
  let held: Buffer = Buffer.alloc(0);
  let done = false;
  const onServer = (): void => {
    let chunk: Buffer | null;
    while (!done && (chunk = upstream.read() as Buffer | null) !== null) {
      held = held.length === 0 ? chunk : (Buffer.concat([held, chunk]) as Buffer);
      if (!mayBeSettings(held)) {
        stopApp();
        finish(false, Buffer.alloc(0), false);
        return;
      }
      // A whole SETTINGS header seen: read no more until the app has spoken (flow control holds the rest).
      if (held.length >= 9) return void upstream.off('readable', onServer);
    }
  };
  const finish = (h2: boolean, fromApp: Buffer, ended: boolean): void => {
    done = true;
    upstream.off('readable', onServer);
    decided(h2, fromApp, held, ended);
  };
  upstream.on('readable', onServer);
  const stopApp = sniffPreface(socket, head, (h2, bytes, ended) => {
    if (!done) finish(h2, bytes, ended);
  });
}

function endSocket(this: Socket): void {
  this.end();
}

// === H2cFront ===

/** The h2c server of the outbound port. */
export class H2cFront {
  readonly #server: Http2Server;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #ctx: OutboundH2Context;
  readonly #guard: ConnectionGuard;

  constructor(opts: { ctx: OutboundH2Context; guard: ConnectionGuard; maxStreamsPerSession?: number; keepaliveIntervalMs?: number }) {
    this.#ctx = opts.ctx;
    this.#guard = opts.guard;
    const settings = { ...MESH_H2_SETTINGS, maxConcurrentStreams: opts.maxStreamsPerSession ?? MESH_H2_SETTINGS.maxConcurrentStreams };
    this.#server = createServer({ settings, maxSessionMemory: 64 });
    const keepaliveMs = opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    const ctx = opts.ctx;
    this.#server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      ctx.stats.outbound_h2_connections_total++;
      session.on('error', (err: Error) => ctx.logger.log('debug', 'outbound.h2.session.error', { error: err.message }));
      session.once('close', () => this.#sessions.delete(session));
      watchSessionLiveness(session, { interval: keepaliveMs, idleClose: SESSION_IDLE_MS });
      if (ctx.draining) session.close();
    });
    const guard = this.#guard;
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      const socket = stream.session?.socket as (Socket & Tagged) | undefined;
      // A first stream is the HTTP/2 counterpart of a first request head: no deadline any more.
      if (socket !== undefined) guard.settle(socket);
      handleAppStream(ctx, stream, headers, flags, socket?.[kDefaultAuthority]);
    });
  }

  /** Serves a connection whose first bytes (put back) were the preface. */
  serve(socket: Socket): void {
    // The listener keeps half-open connections for tunnels; an HTTP/2 client that ends its side
    // is done, and its connection must not linger half open.
    socket.once('end', endSocket);
    this.#server.emit('connection', socket);
  }

  /** Serves the inside of a CONNECT tunnel: streams without an authority go to `authority`. */
  serveTunnel(socket: Socket, authority: string): void {
    this.#ctx.stats.outbound_tunnels_terminated_total++;
    (socket as Socket & Tagged)[kDefaultAuthority] = authority;
    socket.once('end', endSocket);
    this.#server.emit('connection', socket);
  }

  /** GOAWAY to every app session (open streams finish); what is left at `deadline` is destroyed. */
  async drain(deadline: Promise<void>): Promise<void> {
    if (this.#sessions.size === 0) return;
    const closed = [...this.#sessions].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.close(() => resolve()))));
    await Promise.race([Promise.all(closed), deadline]);
    for (const s of this.#sessions) s.destroy();
  }
}
