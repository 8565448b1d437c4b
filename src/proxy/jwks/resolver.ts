// The JWKS resolver a sidecar gives RequestAuthentication: inline sets parsed once; remote sets
// (jwksUri, or OpenID discovery on the issuer) fetched on first use, cached, refreshed in the
// background every refresh interval (Istio's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20 min), and
// fetched again when a token names a kid the set lacks, at most once per cooldown per source.
// A failed fetch keeps the last good set; a source that never fetched answers "unavailable", so
// every token for it is refused (never a fallback key, CVE-2026-31837).
import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from '../../lib/clock.js';
import { describeError } from '../../lib/errors.js';
import { JwksKeySet, jwksSourceKey, type JwksSource, type JwtKeyResolver, type KeyLookup } from '../../policy/jwt/index.js';
import { silentLogger, type Logger } from '../../telemetry/logger.js';
import { discoverJwksUri, fetchDocument } from './fetch-jwks.js';

export interface JwksResolverOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** A cached remote set older than this is fetched again. Default 20 min. */
  readonly refreshIntervalMs?: number;
  /**
   * Least time between two fetches of one source, whatever asks (unknown kid, a failed first
   * fetch, the periodic refresh): caps the load a flood of made-up kids can put on an issuer.
   * Default 30 s.
   */
  readonly refreshCooldownMs?: number;
  /** Largest JWKS body accepted. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** undici dispatcher for the fetches (a private CA, a proxy); the global one when absent. */
  readonly dispatcher?: Dispatcher;
}

/** What the resolver knows of one source (for `weft` status output and tests). */
export interface JwksSourceStatus {
  readonly source: string;
  /** Fetches started, successful or not. */
  readonly fetches: number;
  readonly failures: number;
  /** Clock time of the last successful fetch. */
  readonly fetchedAt?: number;
  readonly lastError?: string;
  readonly kids: readonly string[];
}

export const DEFAULT_REFRESH_INTERVAL_MS = 20 * 60_000;
export const DEFAULT_REFRESH_COOLDOWN_MS = 30_000;
export const DEFAULT_MAX_JWKS_BYTES = 1024 * 1024;

type RemoteSource = Exclude<JwksSource, { kind: 'inline' }>;

interface RemoteEntry {
  readonly source: RemoteSource;
  readonly key: string;
  keys?: JwksKeySet;
  fetchedAt?: number;
  attemptedAt?: number;
  inflight?: Promise<void>;
  fetches: number;
  failures: number;
  lastError?: string;
}

// === JwksResolver ===

/**
 * Resolves verification keys for compiled jwtRules. One instance per sidecar, shared by all
 * snapshots. Call `start()` for the background refresh and `close()` on shutdown.
 */
export class JwksResolver implements JwtKeyResolver {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #interval: number;
  readonly #cooldown: number;
  readonly #maxBytes: number;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #inline = new Map<string, JwksKeySet | string>();
  readonly #remote = new Map<string, RemoteEntry>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: JwksResolverOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#interval = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.#cooldown = options.refreshCooldownMs ?? DEFAULT_REFRESH_COOLDOWN_MS;
    this.#maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_JWKS_BYTES;
    this.#dispatcher = options.dispatcher;
  }

  /** Keys for a token with `alg` and `kid` from `source`, fetching or refreshing as allowed. */
  async lookup(source: JwksSource, alg: string, kid: string | undefined): Promise<KeyLookup> {
    if (source.kind === 'inline') return this.#lookupInline(source.jwks, alg, kid);
    const e = this.#entry(source);
    if (e.keys === undefined) {
      await (e.inflight ?? (this.#mayFetch(e) ? this.#refresh(e, 'first use') : undefined));
      if (e.keys === undefined) return { kind: 'unavailable', detail: e.lastError ?? 'jwks not fetched yet' };
    } else if (this.#isStale(e) && e.inflight === undefined && this.#mayFetch(e)) {
      void this.#refresh(e, 'interval'); // serve the cached set meanwhile
    }
    if (!e.keys!.has(alg, kid)) {
      // The issuer may have rotated its key: one fetch, shared by every request that waits on it.
      await (e.inflight ?? (this.#mayFetch(e) ? this.#refresh(e, 'unknown kid') : undefined));
      if (!e.keys!.has(alg, kid)) return { kind: 'no-match' };
    }
    const keys = await e.keys!.keysFor(alg, kid);
    return keys.length === 0 ? { kind: 'no-match' } : { kind: 'keys', keys };
  }

  /** Loads every source before the first request needs it (e.g. when a snapshot is accepted). */
  async prefetch(sources: readonly JwksSource[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const s of sources) {
      if (s.kind === 'inline') {
        this.#inlineSet(s.jwks);
        continue;
      }
      const e = this.#entry(s);
      if (e.inflight !== undefined) waits.push(e.inflight);
      else if (e.keys === undefined && this.#mayFetch(e)) waits.push(this.#refresh(e, 'prefetch'));
    }
    await Promise.all(waits);
  }

  /** Fetches every remote set that is older than the refresh interval (or never loaded) and may be fetched now. */
  async refreshStale(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const e of this.#remote.values()) {
      if (e.inflight === undefined && (e.keys === undefined || this.#isStale(e)) && this.#mayFetch(e)) {
        waits.push(this.#refresh(e, 'interval'));
      }
    }
    await Promise.all(waits);
  }

  /** Forgets sources the current snapshot no longer uses. */
  retain(sources: readonly JwksSource[]): void {
    const keep = new Set(sources.map(jwksSourceKey));
    for (const k of this.#inline.keys()) if (!keep.has(`inline:${k}`)) this.#inline.delete(k);
    for (const k of this.#remote.keys()) if (!keep.has(k)) this.#remote.delete(k);
  }

  /** Starts the background refresh; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.refreshStale(), Math.max(1_000, Math.min(this.#interval, 60_000)));
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The state of every remote source. */
  status(): JwksSourceStatus[] {
    return [...this.#remote.values()].map((e) => ({
      source: e.key,
      fetches: e.fetches,
      failures: e.failures,
      ...(e.fetchedAt === undefined ? {} : { fetchedAt: e.fetchedAt }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
      kids: e.keys?.kids() ?? [],
    }));
  }

  async #lookupInline(jwks: string, alg: string, kid: string | undefined): Promise<KeyLookup> {
    const set = this.#inlineSet(jwks);
    if (typeof set === 'string') return { kind: 'unavailable', detail: set };
    const keys = await set.keysFor(alg, kid);
    return keys.length === 0 ? { kind: 'no-match' } : { kind: 'keys', keys };
  }

  #inlineSet(jwks: string): JwksKeySet | string {
    let set = this.#inline.get(jwks);
    if (set === undefined) {
      try {
        set = JwksKeySet.parse(jwks, 'inline');
      } catch (err) {
        set = describeError(err);
        this.#logger.log('warn', 'jwks.inline.invalid', { error: set });
      }
      this.#inline.set(jwks, set);
    }
    return set;
  }

  #entry(source: RemoteSource): RemoteEntry {
    const key = jwksSourceKey(source);
    let e = this.#remote.get(key);
    if (e === undefined) {
      e = { source, key, fetches: 0, failures: 0 };
      this.#remote.set(key, e);
    }
    return e;
  }

  #mayFetch(e: RemoteEntry): boolean {
    return e.attemptedAt === undefined || this.#clock.now() - e.attemptedAt >= this.#cooldown;
  }

  #isStale(e: RemoteEntry): boolean {
    return e.fetchedAt === undefined || this.#clock.now() - e.fetchedAt >= this.#interval;
  }

  #refresh(e: RemoteEntry, why: string): Promise<void> {
    e.attemptedAt = this.#clock.now();
    e.fetches++;
    const run = async (): Promise<void> => {
      try {
        const options = { timeoutMs: e.source.timeoutMs, maxBytes: this.#maxBytes, dispatcher: this.#dispatcher };
        const uri = e.source.kind === 'uri' ? e.source.uri : await discoverJwksUri(e.source.issuer, options);
        const set = JwksKeySet.parse(await fetchDocument(uri, options), uri);
        e.keys = set;
        e.fetchedAt = this.#clock.now();
        delete e.lastError;
        this.#logger.log('info', 'jwks.fetched', { source: e.key, reason: why, kids: set.kids() });
      } catch (err) {
        e.failures++;
        e.lastError = describeError(err);
        this.#logger.log('warn', 'jwks.fetch.failed', { source: e.key, reason: why, error: e.lastError, keptLastGood: e.keys !== undefined });
      } finally {
        e.inflight = undefined;
      }
    };
    e.inflight = run();
    return e.inflight;
  }
}
