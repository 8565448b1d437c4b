// What a routed request adds to an OutboundExchange (forward.ts): the cluster's balancer instead of
// round robin, active-request counts for LEAST_REQUEST, outlier detection fed with every try's
// outcome, the route timeout, per-try timeouts and the route's retry policy. The exchange calls
// these hooks at its stages; the plain path has none of this.
import { constants as h2c, type ClientHttp2Stream } from 'node:http2';
import { ProxyError } from '../errors.js';
import type { Endpoint } from '../types.js';
import type { OutboundExchange } from './forward.js';
import type { TrafficPlan } from './traffic.js';
import type { RetryOutcome } from '../../traffic/index.js';

/** Request bytes kept for a retry, as Envoy's per-request retry buffer: a larger body is not retried once sent. */
export const RETRY_BUFFER_BYTES = 64 * 1024;

export class RoutedTry {
  readonly #ex: OutboundExchange;
  readonly plan: TrafficPlan;
  /** The endpoint of the try under way, counted as an active request on it. */
  #key: string | undefined;
  #retries = 0;
  #routeTimer: NodeJS.Timeout | undefined;
  #tryTimer: NodeJS.Timeout | undefined;
  #backoff: NodeJS.Timeout | undefined;
  /** The request body as sent so far, while it fits the retry buffer; undefined once it does not. */
  #body: Buffer[] | undefined;
  #bodyBytes = 0;
  #capturing = false;

  constructor(ex: OutboundExchange, plan: TrafficPlan) {
    this.#ex = ex;
    this.plan = plan;
    const ms = plan.timeoutMs;
    if (ms !== undefined) this.#routeTimer = setTimeout(() => this.#timedOut(`upstream request timeout (route timeout ${ms} ms)`), ms);
  }

  /** The endpoint for the next try: the cluster's balancer, passing over endpoints down or already tried. */
  pick(): Endpoint | ProxyError {
    const ex = this.#ex;
    return this.plan.pick(ex.failedKeys !== undefined || ex.ctx.pool.anyDown ? ex : undefined);
  }

  begin(key: string): void {
    this.#endTry();
    this.#key = key;
    this.plan.begin(key);
  }

  connectFailed(key: string): void {
    this.plan.record(key, 'local-origin-failure');
    this.#endTry();
  }

  /** The request went out on `stream`: the per-try timeout starts. */
  sent(stream: ClientHttp2Stream): void {
    const ex = this.#ex;
    if (!ex.noRequestBody && !this.#capturing) {
      // Attached right after pipe() in the same tick, so no chunk is missed.
      this.#capturing = true;
      this.#body = [];
      ex.req.on('data', (chunk: Buffer) => this.#keep(chunk));
    }
    const ms = this.plan.retry.perTryTimeoutMs;
    if (ms === undefined) return;
    clearTimeout(this.#tryTimer);
    this.#tryTimer = setTimeout(() => this.#tryTimedOut(stream), ms);
  }

  #keep(chunk: Buffer): void {
    if (this.#body === undefined) return;
    this.#bodyBytes += chunk.length;
    if (this.#bodyBytes > RETRY_BUFFER_BYTES) this.#body = undefined;
    else this.#body.push(chunk);
  }

  /** Sends the kept body on a retry's stream; false when there is nothing kept (the first try pipes). */
  replay(stream: ClientHttp2Stream): boolean {
    if (this.#retries === 0 || this.#body === undefined || !this.#ex.req.readableEnded) return false;
    for (const chunk of this.#body) stream.write(chunk);
    stream.end();
    return true;
  }

  /** The stream was never processed by the peer; the exchange resends it on its own terms. */
  unsent(): void {
    this.#endTry();
  }

  /** A response head arrived; true when the route retries it instead of relaying it. */
  onStatus(status: number): boolean {
    const key = this.#key;
    if (key !== undefined) this.plan.record(key, { status });
    clearTimeout(this.#tryTimer);
    if (this.#ex.over) return false;
    return this.#retry({ kind: 'status', status });
  }

  /** The stream was reset before any response; true when the route retries it. */
  onReset(): boolean {
    const key = this.#key;
    if (key !== undefined) this.plan.record(key, 'local-origin-failure');
    return this.#retry({ kind: 'reset' });
  }

  editResponse(flat: string[]): string[] {
    return this.plan.editsResponse ? this.plan.editResponse(flat) : flat;
  }

  /** The request is over, whatever the outcome. */
  finish(): void {
    this.#endTry();
    clearTimeout(this.#routeTimer);
    clearTimeout(this.#backoff);
    this.plan.release();
  }

  #endTry(): void {
    clearTimeout(this.#tryTimer);
    this.#tryTimer = undefined;
    if (this.#key !== undefined) this.plan.end(this.#key);
    this.#key = undefined;
  }

  #retry(outcome: RetryOutcome): boolean {
    const ex = this.#ex;
    // A body is sent again only when all of it was received and kept.
    if (!ex.noRequestBody && (this.#body === undefined || !ex.req.readableEnded)) return false;
    const wait = this.plan.retryAfter(outcome, this.#retries);
    if (wait === undefined) return false;
    this.#retries++;
    ex.ctx.stats.outbound_requests_retried_total++;
    const stream = ex.stream;
    ex.stream = undefined;
    if (stream !== undefined && !ex.noRequestBody) ex.req.unpipe(stream);
    if (stream !== undefined && !stream.destroyed) stream.close(h2c.NGHTTP2_CANCEL);
    if (this.#key !== undefined && this.plan.retry.retryIgnorePreviousHosts) (ex.failedKeys ??= []).push(this.#key);
    this.#endTry();
    // A retry does not spend the exchange's budget for unreachable endpoints.
    ex.attempts--;
    if (wait <= 0) ex.attempt();
    else this.#backoff = setTimeout(() => ex.attempt(), wait);
    return true;
  }

  #tryTimedOut(stream: ClientHttp2Stream): void {
    const ex = this.#ex;
    if (ex.over || ex.stream !== stream || ex.responded) return;
    if (this.#key !== undefined) this.plan.record(this.#key, 'local-origin-failure');
    if (!this.#retry({ kind: 'timeout' })) this.#timedOut(`upstream request timeout (per-try timeout ${this.plan.retry.perTryTimeoutMs} ms)`);
  }

  #timedOut(reason: string): void {
    this.#ex.fail(new ProxyError('WEFT_PROXY_UPSTREAM_TIMEOUT', reason));
  }
}
