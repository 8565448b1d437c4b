// Bounds what a connection that has not proved anything yet may hold: every listener caps its
// concurrent connections and closes one that has not finished its handshake (or sent its first
// request head) within a bounded time. An accept error (EMFILE when descriptors run out) is
// counted and logged, never thrown: a net.Server with no 'error' listener would end the process.
import type { Server, Socket } from 'node:net';
import type { Clock } from './clock.js';

/** Limits of one listener. */
export interface ConnectionLimits {
  /** Concurrent connections; past it a new connection is closed at once. */
  readonly maxConnections: number;
  /** How long a connection may take to finish its handshake or send its first request head. */
  readonly handshakeTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({ maxConnections: 4096, handshakeTimeoutMs: 10_000 });

/** What a guard reports; `count` is called on the hot path, so it must be cheap. */
export interface GuardEvents {
  count(event: 'refused' | 'timeout' | 'acceptError'): void;
  log(level: 'info' | 'warn', event: string, fields: Record<string, unknown>): void;
}

/** Logs of one kind at most once per this interval, with how many were left out. */
const LOG_INTERVAL_MS = 10_000;

const kTimer = Symbol('weft.guard.timer');
type Armed = Socket & { [kTimer]?: NodeJS.Timeout };

// === ConnectionGuard ===

/**
 * Guards one net.Server (or the net.Server under a tls/http one).
 *
 * @example
 * const guard = new ConnectionGuard('inbound', limits, events, clock);
 * guard.attach(server);               // cap, drop and accept-error handling
 * server.on('connection', (s) => guard.arm(s));
 * tls.on('secureConnection', (s) => guard.settle(s));
 */
export class ConnectionGuard {
  readonly #name: string;
  readonly #limits: ConnectionLimits;
  readonly #events: GuardEvents;
  readonly #clock: Clock;
  readonly #lastLog = new Map<string, { at: number; suppressed: number }>();

  /** @throws TypeError for limits that are not positive integers. */
  constructor(name: string, limits: ConnectionLimits, events: GuardEvents, clock: Clock) {
    checkLimits(limits);
    this.#name = name;
    this.#limits = limits;
    this.#events = events;
    this.#clock = clock;
  }

  get limits(): ConnectionLimits {
    return this.#limits;
  }

  /** Caps `server`'s connections and keeps its accept errors from ending the process. */
  attach(server: Server): void {
    server.maxConnections = this.#limits.maxConnections;
    server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
      this.#events.count('refused');
      this.#logLimited('refused', 'warn', 'listener.connection.refused', {
        listener: this.#name,
        remote: data?.remoteAddress === undefined ? undefined : `${data.remoteAddress}:${data.remotePort}`,
        reason: `at the cap of ${this.#limits.maxConnections} concurrent connections (--max-connections)`,
      });
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      // Errors of listen() itself reach the caller's own listener too; only count those after it.
      if (!server.listening) return;
      this.#events.count('acceptError');
      this.#logLimited(`accept:${err.code}`, 'warn', 'listener.accept.failed', { listener: this.#name, code: err.code, error: err.message });
    });
  }

  /** Starts the clock on a new connection: destroyed unless settled within the handshake timeout. */
  arm(socket: Socket): void {
    const armed = socket as Armed;
    if (armed[kTimer] !== undefined) return;
    const timer = setTimeout(() => {
      armed[kTimer] = undefined;
      if (socket.destroyed) return;
      this.#events.count('timeout');
      this.#logLimited('timeout', 'info', 'listener.handshake.timeout', {
        listener: this.#name,
        remote: `${socket.remoteAddress}:${socket.remotePort}`,
        reason: `no handshake or request head within ${this.#limits.handshakeTimeoutMs} ms (--handshake-timeout)`,
      });
      socket.destroy();
    }, this.#limits.handshakeTimeoutMs);
    timer.unref();
    armed[kTimer] = timer;
    socket.once('close', () => this.settle(socket));
  }

  /** The connection proved itself (handshake done, first head read): no deadline any more. */
  settle(socket: Socket): void {
    const armed = socket as Armed;
    const timer = armed[kTimer];
    if (timer === undefined) return;
    clearTimeout(timer);
    armed[kTimer] = undefined;
  }

  #logLimited(kind: string, level: 'info' | 'warn', event: string, fields: Record<string, unknown>): void {
    const now = this.#clock.now();
    const last = this.#lastLog.get(kind);
    if (last !== undefined && now - last.at < LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.#lastLog.set(kind, { at: now, suppressed: 0 });
    this.#events.log(level, event, last !== undefined && last.suppressed > 0 ? { ...fields, suppressed: last.suppressed } : fields);
  }
}

/**
 * The socket a TLS server wrapped: the one a guard armed at accept. Node keeps it as `_parent`
 * when a TLSSocket is built over an existing socket.
 */
export function rawSocketOf(tlsSocket: Socket): Socket {
  return (tlsSocket as Socket & { _parent?: Socket })._parent ?? tlsSocket;
}

function checkLimits(limits: ConnectionLimits): void {
  for (const field of ['maxConnections', 'handshakeTimeoutMs'] as const) {
    const v = limits[field];
    if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`"${field}" must be a positive integer, got ${String(v)}`);
  }
}
