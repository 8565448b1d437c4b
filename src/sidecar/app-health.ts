// The app's health as the sidecar sees it, probed the way a Kubernetes readiness probe is: every
// `period`, one probe at a time, each given `timeout`; the app is healthy after `successThreshold`
// successes in a row and unhealthy after `failureThreshold` failures in a row. It starts
// unhealthy, as a pod starts unready, and is probed every second until it first passes. An HTTP
// probe succeeds on a status from 200 to 399 (a redirect is not followed); a TCP probe when the
// connection opens.
import { request } from 'node:http';
import { connect } from 'node:net';

export type AppHealthCheck = { readonly kind: 'tcp' } | { readonly kind: 'http'; readonly path: string } | { readonly kind: 'none' };

export interface AppHealthSettings {
  readonly check: AppHealthCheck;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** Kubernetes' readiness probe defaults, with a TCP check of the app port. */
export const DEFAULT_APP_HEALTH: AppHealthSettings = { check: { kind: 'tcp' }, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3 };

/** How often an app that has never passed is probed, when the period is longer. */
const STARTUP_PERIOD_MS = 1_000;

/** The body of an HTTP probe's answer is not needed; the socket is closed after this much. */
const MAX_PROBE_BODY_BYTES = 10 * 1024;

export class AppHealth {
  readonly #settings: AppHealthSettings;
  readonly #host: string;
  readonly #port: number;
  readonly #onChange: (healthy: boolean, reason: string) => void;
  #healthy: boolean;
  #reason: string;
  #successes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #everHealthy = false;

  constructor(settings: AppHealthSettings, app: { host: string; port: number }, onChange: (healthy: boolean, reason: string) => void) {
    this.#settings = settings;
    this.#host = app.host;
    this.#port = app.port;
    this.#onChange = onChange;
    this.#healthy = settings.check.kind === 'none';
    this.#reason = this.#healthy ? 'no health check' : 'not probed yet';
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Why the app is (un)healthy: the last probe's outcome. */
  get reason(): string {
    return this.#reason;
  }

  /** Runs the first probe now, then one every period until stop(). */
  async start(): Promise<void> {
    if (this.#settings.check.kind === 'none') return;
    await this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const began = performance.now();
    const failure = await this.probe();
    if (this.#stopped) return;
    this.#record(failure);
    // Until the app first passes (it may still be starting) it is probed at least every second,
    // as a Kubernetes startup probe would be, so a sidecar does not sit unready for a whole period.
    const period = this.#everHealthy ? this.#settings.periodMs : Math.min(this.#settings.periodMs, STARTUP_PERIOD_MS);
    const wait = Math.max(0, period - (performance.now() - began));
    this.#timer = setTimeout(() => void this.#tick(), wait);
    this.#timer.unref();
  }

  #record(failure: string | undefined): void {
    const s = this.#settings;
    if (failure === undefined) {
      this.#failures = 0;
      this.#successes++;
      if (!this.#healthy && this.#successes >= s.successThreshold) this.#set(true, `${this.#describe()} succeeded`);
      else if (this.#healthy) this.#reason = `${this.#describe()} succeeded`;
    } else {
      this.#successes = 0;
      this.#failures++;
      this.#reason = failure;
      if (this.#healthy && this.#failures >= s.failureThreshold) this.#set(false, failure);
    }
  }

  #set(healthy: boolean, reason: string): void {
    this.#healthy = healthy;
    if (healthy) this.#everHealthy = true;
    this.#reason = reason;
    this.#onChange(healthy, reason);
  }

  #describe(): string {
    const c = this.#settings.check;
    return c.kind === 'http' ? `GET http://${this.#hostPort()}${c.path}` : `TCP connect to ${this.#hostPort()}`;
  }

  #hostPort(): string {
    return `${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** One probe: undefined when it succeeds, else why it failed. Never throws. */
  probe(): Promise<string | undefined> {
    const c = this.#settings.check;
    const timeoutMs = this.#settings.timeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      const done = (failure: string | undefined, cleanup: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cleanup();
        resolve(failure);
      };
      let cleanup: () => void = () => undefined;
      const timer = setTimeout(() => done(`${this.#describe()} timed out after ${timeoutMs} ms`, cleanup), timeoutMs);
      if (c.kind === 'http') {
        const req = request({ host: this.#host, port: this.#port, path: c.path, method: 'GET', agent: false, headers: { 'user-agent': 'weft-probe/1', connection: 'close', accept: '*/*' } }, (res) => {
          const status = res.statusCode ?? 0;
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_PROBE_BODY_BYTES) res.destroy();
          });
          res.on('error', () => undefined);
          done(status >= 200 && status < 400 ? undefined : `${this.#describe()} answered ${status}`, () => res.resume());
        });
        cleanup = () => req.destroy();
        req.on('error', (err: NodeJS.ErrnoException) => done(`${this.#describe()} failed: ${err.code ?? err.message}`, () => req.destroy()));
        req.end();
      } else {
        const socket = connect({ host: this.#host, port: this.#port });
        cleanup = () => socket.destroy();
        socket.once('connect', () => done(undefined, () => socket.destroy()));
        socket.on('error', (err: NodeJS.ErrnoException) => done(`${this.#describe()} failed: ${err.code ?? err.message}`, () => socket.destroy()));
      }
    });
  }
}
