// The outbound listener: an explicit HTTP/1.1 proxy on loopback for the local app. Routes each
// request (route.ts), then hands it to an OutboundExchange (forward.ts); CONNECT opens a TCP
// tunnel (tunnel.ts). A connection that opens with the HTTP/2 preface is served by the h2c
// server instead (h2-listener.ts), stream by stream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Clock } from '../../lib/clock.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../lib/connection-guard.js';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyError } from '../errors.js';
import { rescueH1 } from '../rescue.js';
import type { ProxyStats } from '../stats.js';
import type { ServiceDirectory } from '../types.js';
import { OutboundExchange, type OutboundContext } from './forward.js';
import { H2cFront, sniffPreface } from './h2-listener.js';
import type { SessionPool } from './pool.js';
import { checkServicePort, parseTarget, readTarget, RoundRobin } from './route.js';
import { createEgressAgent, externalHostOf, forwardExternal, type EgressContext, type OutboundTrafficMode } from './egress.js';
import { openTunnel, type TunnelContext } from './tunnel.js';
import { openUpgrade } from './upgrade.js';
import { hashInputOf, headerGetter, routeStep, type TrafficConfig } from './traffic.js';
import { runStep } from './traffic-h1.js';

/** How often outlier detectors are given the chance to return ejected endpoints. */
const OUTLIER_TICK_MS = 1_000;

// === OutboundListener ===

export class OutboundListener {
  readonly #server: Server;
  /** Accepts, and hands each connection to #server (HTTP/1.1) or #h2 (HTTP/2) by its first bytes. */
  readonly #net: NetServer;
  readonly #h2: H2cFront;
  readonly #directory: ServiceDirectory;
  readonly #clusterSuffix: string;
  readonly #stats: ProxyStats;
  readonly #logger: Logger;
  readonly #emitErrorHeaders: boolean;
  readonly #ctx: { -readonly [K in keyof OutboundContext]: OutboundContext[K] };
  readonly #egress: EgressContext;
  readonly #egressMode: () => OutboundTrafficMode;
  #onIdle: (() => void) | undefined;
  readonly #traffic: () => TrafficConfig | undefined;
  readonly #clock: Clock;
  readonly #ticker: NodeJS.Timeout | undefined;
  /** Called once when a request to an external host is over. */
  readonly #external = (): void => {
    this.#stats.outbound_requests_active--;
    this.#ctx.done();
  };
  /** Connections taken over by a tunnel or an upgrade: node:http no longer tracks them, so drain does. */
  readonly #hijacked = new Set<Socket>();

  constructor(opts: {
    directory: ServiceDirectory;
    pool: SessionPool;
    stats: ProxyStats;
    logger: Logger;
    clusterDomain: string;
    emitErrorHeaders: boolean;
    clock: Clock;
    limits?: ConnectionLimits;
    /** Streams the app may open at once on one h2c connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
    maxStreamsPerSession?: number;
    keepaliveIntervalMs?: number;
    outboundTrafficPolicy?: () => OutboundTrafficMode;
    traffic?: () => TrafficConfig | undefined;
  }) {
    this.#directory = opts.directory;
    this.#clock = opts.clock;
    const traffic = opts.traffic;
    this.#traffic = traffic ?? (() => undefined);
    this.#ticker = traffic === undefined ? undefined : setInterval(() => traffic()?.registry.tick(opts.clock.now()), OUTLIER_TICK_MS).unref();
    this.#clusterSuffix = `.${opts.clusterDomain}`;
    this.#stats = opts.stats;
    this.#logger = opts.logger;
    this.#emitErrorHeaders = opts.emitErrorHeaders;
    this.#egress = { stats: opts.stats, logger: opts.logger, emitErrorHeaders: opts.emitErrorHeaders, agent: createEgressAgent() };
    this.#egressMode = opts.outboundTrafficPolicy ?? (() => 'ALLOW_ANY');
    this.#ctx = {
      pool: opts.pool,
      balancer: new RoundRobin(),
      stats: opts.stats,
      logger: opts.logger,
      emitErrorHeaders: opts.emitErrorHeaders,
      draining: false,
      done: () => {
        if (this.#onIdle !== undefined && this.#stats.outbound_requests_active === 0) this.#onIdle();
      },
    };
    // Node's 5-minute requestTimeout would cut long uploads and long polls, so it is off; a client
    // that never finishes its first head is cut by the guard below instead.
    this.#server = createServer({ noDelay: true, keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => this.#onRequest(req, res));
    const stats = opts.stats;
    // Loopback does not make a client well-behaved: a connection that never sends a request head
    // still holds a descriptor, so it gets the same deadline and cap as the mesh-facing listener.
    const guard = new ConnectionGuard('outbound', opts.limits ?? DEFAULT_CONNECTION_LIMITS, {
      count: (event) => void (event === 'refused' ? stats.outbound_connections_refused_total++ : event === 'timeout' ? stats.outbound_handshake_timeouts_total++ : stats.outbound_accept_errors_total++),
      log: (level, event, fields) => opts.logger.log(level, event, fields),
    }, opts.clock);
    const ctx = this.#ctx;
    const h2ctx = { ...ctx, directory: opts.directory, clusterSuffix: this.#clusterSuffix, get draining(): boolean { return ctx.draining; } };
    this.#h2 = new H2cFront({ ctx: h2ctx, guard, maxStreamsPerSession: opts.maxStreamsPerSession, keepaliveIntervalMs: opts.keepaliveIntervalMs });
    // allowHalfOpen as node:http's own listener has it: a tunnel's client may end its side first.
    this.#net = createNetServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => {
      guard.arm(socket);
      stats.outbound_connections_total++;
      stats.outbound_connections_active++;
      socket.once('close', () => stats.outbound_connections_active--);
      socket.on('error', () => undefined);
      sniffPreface(socket, Buffer.alloc(0), (h2, bytes, ended) => {
        if (ended) return void socket.destroy();
        socket.unshift(bytes);
        if (h2) this.#h2.serve(socket);
        else this.#server.emit('connection', socket);
      });
    });
    guard.attach(this.#net);
    this.#server.on('request', (req: IncomingMessage) => guard.settle(req.socket));
    this.#server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      if (err.code !== 'ECONNRESET' && socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    const tunnels: TunnelContext = {
      directory: opts.directory,
      pool: opts.pool,
      balancer: this.#ctx.balancer,
      stats: opts.stats,
      logger: opts.logger,
      clusterSuffix: this.#clusterSuffix,
      egress: this.#egress,
      egressMode: this.#egressMode,
      serveH2: (socket, authority) => this.#h2.serveTunnel(socket, authority),
    };
    this.#server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      guard.settle(socket);
      this.#hijack(socket);
      void openTunnel(tunnels, req, socket, head);
    });
    // `Expect: 100-continue` waits for the serving app's 100 (forward.ts), not Node's automatic one.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      guard.settle(req.socket);
      this.#onRequest(req, res);
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      guard.settle(socket);
      this.#hijack(socket);
      void openUpgrade(tunnels, this.#ctx, req, socket, head, (r, s) => this.#onRequest(r, s));
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(port, host, () => {
        this.#net.off('error', reject);
        // node:http tracks its connections (closeIdleConnections, its header timeout) from its
        // 'listening' event; the sockets come from #net, so it is told here.
        this.#server.emit('listening');
        resolve((this.#net.address() as { port: number }).port);
      });
    });
  }

  /**
   * Stops accepting connections, closes idle keep-alive connections, answers in-flight requests
   * with `connection: close`, and resolves when they are done or `deadline` settles.
   */
  async drain(deadline: Promise<void>): Promise<void> {
    this.#ctx.draining = true;
    clearInterval(this.#ticker);
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    this.#server.close();
    this.#server.closeIdleConnections();
    const h2 = this.#h2.drain(deadline);
    if (this.#stats.outbound_requests_active > 0) {
      const idle = new Promise<void>((resolve) => (this.#onIdle = resolve));
      await Promise.race([idle, deadline]);
    }
    // Tunnels and upgraded connections get the drain period, then are cut.
    if (this.#hijacked.size > 0) await Promise.race([deadline, new Promise<void>((resolve) => (this.#onHijackedGone = resolve))]);
    this.#server.closeAllConnections();
    this.#egress.agent.destroy();
    for (const socket of this.#hijacked) socket.destroy();
    await h2;
    await closed;
  }

  #onHijackedGone: (() => void) | undefined;

  #hijack(socket: Socket): void {
    this.#hijacked.add(socket);
    socket.once('close', () => {
      this.#hijacked.delete(socket);
      if (this.#hijacked.size === 0) this.#onHijackedGone?.();
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const stats = this.#stats;
    stats.outbound_requests_total++;
    stats.outbound_requests_active++;
    if (this.#ctx.draining) res.shouldKeepAlive = false;
    let entry;
    let target;
    try {
      target = parseTarget(req.url ?? '/', req.headers.host, this.#clusterSuffix);
      entry = this.#directory.lookup(target.service, target.namespace);
      if (entry === undefined) throw new ProxyError('WEFT_PROXY_UNKNOWN_SERVICE', `unknown service "${target.service}.${target.namespace}"`);
      checkServicePort(entry, target);
    } catch (err) {
      if (err instanceof ProxyError && err.code === 'WEFT_PROXY_UNKNOWN_SERVICE' && this.#toExternal(req, res, target)) return;
      if (err instanceof ProxyError && (err.code === 'WEFT_PROXY_UNKNOWN_SERVICE' || err.code === 'WEFT_PROXY_UNKNOWN_PORT')) stats.outbound_requests_unknown_service_total++;
      else stats.outbound_requests_bad_request_total++;
      stats.outbound_requests_active--;
      rescueH1(res, err, this.#logger, this.#emitErrorHeaders, { method: req.method, url: req.url, host: req.headers.host }, stats);
      this.#ctx.done();
      return;
    }
    const traffic = this.#traffic();
    if (traffic !== undefined) {
      // VirtualService and DestinationRule (traffic.ts); a host they do not concern goes on below.
      const t = target;
      const hashInput = () => hashInputOf(req.headers, t.path, { address: req.socket.remoteAddress, port: req.socket.remotePort });
      const step = routeStep(traffic, this.#directory, { method: req.method ?? 'GET', target, header: headerGetter(req.headers), hashInput }, this.#clock, Math.random);
      if (step.kind !== 'plain') {
        runStep(this.#ctx, this.#clock, step, req, res);
        return;
      }
    }
    new OutboundExchange(this.#ctx, req, res, target, entry).attempt();
  }

  /** A request for a host outside the mesh's names goes out as outboundTrafficPolicy says; false: it is a mesh name. */
  #toExternal(req: IncomingMessage, res: ServerResponse, target: { authority: string; path: string } | undefined): boolean {
    const { authority, path } = target ?? readTarget(req.url ?? '/', req.headers.host);
    const ext = externalHostOf(authority, this.#clusterSuffix, this.#directory, 80);
    if (ext === undefined) return false;
    forwardExternal(this.#egress, this.#egressMode(), req, res, ext, path, this.#external);
    return true;
  }
}
