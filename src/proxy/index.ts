// The sidecar's data path, composed in request order:
//   inbound:  listener: first byte TLS or plaintext, mTLS + X.509-SVID peer check (inbound/server.ts)
//             -> protocol: one request shape (inbound/request.ts); CONNECT tunnels (inbound/tunnel.ts),
//                upgrades over extended CONNECT (inbound/upgrade.ts)
//             -> policy: JWT, CUSTOM ext_authz (ext-authz/), DENY/ALLOW (inbound/authorize.ts)
//             -> app port (service ports) -> upstream: pooled HTTP/1.1 (inbound/forward.ts), node:http
//                for expectations and request trailers (inbound/h1-relay.ts), h2c for gRPC (inbound/app-h2.ts)
//   outbound: listener: HTTP/1.1 or HTTP/2 by the preface (outbound/server.ts, outbound/h2-listener.ts)
//             -> protocol: request target (outbound/route.ts); CONNECT (outbound/tunnel.ts), upgrades
//                (outbound/upgrade.ts); hosts outside the mesh (outbound/egress.ts)
//             -> route: VirtualService decision (outbound/traffic.ts, answers in outbound/traffic-h1.ts)
//             -> cluster: DestinationRule balancer, outlier detection, circuit breaker (outbound/traffic.ts,
//                per try: outbound/traffic-exchange.ts)
//             -> upstream: verified h2 session (outbound/pool.ts) -> secure naming + stream, retries,
//                timeouts (outbound/forward.ts; HTTP/2 streams: outbound/h2-exchange.ts)
//   every local answer: rescue.ts (status, Envoy response flag, reason; gRPC status for gRPC calls)
import { X509Certificate } from 'node:crypto';
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { InboundForwarder } from './inbound/forward.js';
import { relayPlaintext } from './inbound/plaintext.js';
import { InboundListener } from './inbound/server.js';
import { OutboundListener } from './outbound/server.js';
import { SessionPool } from './outbound/pool.js';
import { Revocations } from './revocations.js';
import { ProxyStats } from './stats.js';
import type { SidecarIdentity, SidecarProxyOptions } from './types.js';

export type { AppProtocol, Endpoint, HostPort, InboundPort, ServiceDirectory, ServiceEntry, ServicePortEntry, SidecarIdentity, SidecarProxyOptions } from './types.js';
export { PROXY_ERROR_CODES, ProxyError, RESPONSE_FLAGS, RESPONSE_FLAG_OF, type ProxyErrorCode, type ResponseFlag } from './errors.js';
export { PROXY_ERROR_HEADER, responseFlagOf } from './rescue.js';
export { ProxyStats } from './stats.js';
export { ActiveRequests, type TrafficConfig } from './outbound/traffic.js';
export * from './ext-authz/index.js';
export { inboundRefusedChannel, sessionOpenedChannel, type InboundRefusedMessage } from './diagnostics.js';

// === SidecarProxy ===

/**
 * One workload's data path: the inbound mTLS listener in front of the app and, optionally, the
 * outbound explicit proxy the app calls other services through.
 *
 * @example
 * const proxy = new SidecarProxy({ identity, directory, inbound: { host: '0.0.0.0', port: 15006 }, app: { host: '127.0.0.1', port: 8080 }, outbound: { host: '127.0.0.1', port: 15001 } });
 * const { inboundPort, outboundPort } = await proxy.start();
 */
export type { InboundPolicy } from './inbound/authorize.js';

export class SidecarProxy {
  readonly #opts: SidecarProxyOptions;
  readonly #stats = new ProxyStats();
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #forwarder: InboundForwarder;
  readonly #inbound: InboundListener;
  readonly #pool: SessionPool;
  readonly #outbound: OutboundListener | undefined;
  readonly #revocations: Revocations;
  #state: 'new' | 'starting' | 'running' | 'draining' | 'stopped' = 'new';

  /** @throws TypeError for a missing or malformed option; Error from OpenSSL for an unusable key or certificate. */
  constructor(opts: SidecarProxyOptions) {
    checkIdentity(opts.identity);
    if (opts.appProtocol !== undefined && !['http', 'http2', 'grpc', 'auto'].includes(opts.appProtocol)) throw new TypeError(`"appProtocol" must be 'http', 'http2', 'grpc' or 'auto', got ${JSON.stringify(opts.appProtocol)}`);
    if (opts.directory === undefined || typeof opts.directory.lookup !== 'function') throw new TypeError('"directory" must have a lookup() method');
    this.#opts = opts;
    this.#logger = opts.logger ?? silentLogger;
    this.#clock = opts.clock ?? systemClock;
    const emitErrorHeaders = opts.emitErrorHeaders ?? true;
    this.#revocations = new Revocations({ stats: this.#stats, logger: this.#logger });
    this.#revocations.setOwnSerial(leafSerial(opts.identity));
    const common = { stats: this.#stats, logger: this.#logger, clock: this.#clock, revocations: this.#revocations };
    this.#forwarder = new InboundForwarder({ app: opts.app, ports: opts.ports, stats: this.#stats, logger: this.#logger, emitErrorHeaders, policy: opts.policy, appProtocol: opts.appProtocol, clock: this.#clock });
    this.#inbound = new InboundListener({
      ...common,
      identity: opts.identity,
      onStream: (s, h, f, c, raw) => this.#forwarder.handle(s, h, f, c, raw),
      acceptPlaintext: () => opts.policy?.()?.acceptPlaintext === true,
      onPlainRequest: (req, res) => relayPlaintext(this.#forwarder, req, res),
      limits: opts.limits,
      maxStreamsPerSession: opts.maxStreamsPerSession,
      keepaliveIntervalMs: opts.keepaliveIntervalMs,
    });
    this.#pool = new SessionPool({ ...common, identity: opts.identity, maxSessionsPerPeer: opts.maxSessionsPerPeer, keepaliveIntervalMs: opts.keepaliveIntervalMs });
    this.#outbound =
      opts.outbound === undefined
        ? undefined
        : new OutboundListener({ directory: opts.directory, pool: this.#pool, stats: this.#stats, logger: this.#logger, clusterDomain: opts.clusterDomain ?? 'svc.cluster.local', emitErrorHeaders, clock: this.#clock, limits: opts.limits, maxStreamsPerSession: opts.maxStreamsPerSession, keepaliveIntervalMs: opts.keepaliveIntervalMs, outboundTrafficPolicy: opts.outboundTrafficPolicy, traffic: opts.traffic });
  }

  /** Binds the listeners (port 0 picks a free one) and resolves with the bound ports. */
  async start(): Promise<{ inboundPort: number; outboundPort?: number }> {
    if (this.#state !== 'new') throw new TypeError('SidecarProxy.start() may be called once');
    this.#state = 'starting';
    const inboundPort = await this.#inbound.listen(this.#opts.inbound.host, this.#opts.inbound.port);
    const outboundPort = this.#outbound === undefined ? undefined : await this.#outbound.listen(this.#opts.outbound!.host, this.#opts.outbound!.port);
    this.#state = 'running';
    this.#logger.log('info', 'proxy.started', { spiffeId: this.#opts.identity.spiffeId, inboundPort, outboundPort });
    return outboundPort === undefined ? { inboundPort } : { inboundPort, outboundPort };
  }

  /**
   * Rotation: new handshakes, both ways, use the new certificate and bundle. Inbound sessions go
   * on; pooled outbound sessions are retired gracefully (their open streams finish). No
   * connection is cut and no request fails.
   *
   * @throws TypeError for a malformed identity; Error from OpenSSL when key and certificate do
   *   not match (the old identity then stays in force).
   */
  updateIdentity(identity: SidecarIdentity): void {
    checkIdentity(identity);
    if (identity.trustDomain !== this.#opts.identity.trustDomain) {
      throw new TypeError(`"identity.trustDomain" cannot change from "${this.#opts.identity.trustDomain}" to "${identity.trustDomain}"`);
    }
    this.#pool.updateIdentity(identity);
    this.#inbound.updateIdentity(identity);
    this.#revocations.setOwnSerial(leafSerial(identity));
    this.#stats.identity_updates_total++;
    this.#logger.log('info', 'proxy.identity.updated', { spiffeId: identity.spiffeId });
  }

  /**
   * Puts a snapshot's revocation list in force: later handshakes with a revoked certificate are
   * refused both ways, and open sessions with a newly revoked peer are closed now. Returns how
   * many sessions were closed.
   */
  updateRevocations(serials: readonly string[]): number {
    return this.#revocations.update(serials);
  }

  /** Every counter and gauge of the data path, by name (see ProxyStats). */
  stats(): Record<string, number> {
    return this.#stats.toRecord();
  }

  /**
   * Stops accepting, lets in-flight requests finish for at most `timeoutMs`, then closes
   * everything. Peers get GOAWAY and resend elsewhere whatever this sidecar did not take.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new TypeError('"timeoutMs" must be a number >= 0');
    if (this.#state === 'draining' || this.#state === 'stopped') return;
    this.#state = 'draining';
    this.#logger.log('info', 'proxy.draining', { timeoutMs, inFlight: this.#stats.inbound_requests_active + this.#stats.outbound_requests_active });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.all([this.#inbound.drain(deadline), this.#outbound?.drain(deadline)]);
    await this.#pool.drain(deadline);
    clearTimeout(timer);
    await this.#forwarder.close();
    this.#state = 'stopped';
    this.#logger.log('info', 'proxy.stopped', { ...this.#stats.toRecord() });
  }
}

/** The serial of the identity's leaf, lowercase hex as revocations name it; '' when unreadable. */
function leafSerial(identity: SidecarIdentity): string {
  try {
    return new X509Certificate(identity.certChainPem).serialNumber.toLowerCase();
  } catch {
    return '';
  }
}

function checkIdentity(identity: SidecarIdentity): void {
  if (identity === null || typeof identity !== 'object') throw new TypeError('"identity" must be an object');
  for (const field of ['spiffeId', 'trustDomain', 'keyPem', 'certChainPem', 'bundlePem'] as const) {
    if (typeof identity[field] !== 'string' || identity[field].length === 0) throw new TypeError(`"identity.${field}" must be a non-empty string`);
  }
}
