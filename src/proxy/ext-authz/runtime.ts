// The ext_authz side of one sidecar: a client per provider of the snapshot in force, its decision
// cache, and the counters. A snapshot that leaves a provider and the CUSTOM policies naming it
// unchanged keeps its client and cache; any change to either starts both afresh.
import { systemClock, type Clock } from '../../lib/clock.js';
import { checkKey, grpcCheckRequest, httpCheckRequest, type CheckInput, type CompiledProvider, type CustomResult } from '../../policy/index.js';
import type { Logger } from '../../telemetry/logger.js';
import { silentLogger } from '../../telemetry/logger.js';
import { BadAnswer, type ProviderAnswer } from './answer.js';
import { DecisionCache } from './cache.js';
import { GrpcAuthzClient } from './grpc-client.js';
import { HttpAuthzClient } from './http-client.js';

/** Envoy's response flag for a request ext_authz denied (UnauthorizedExternalService). */
export const EXT_AUTHZ_FLAG = 'UAEX';

export interface ProviderCounters {
  allowed: number;
  denied: number;
  errors: number;
  failedOpen: number;
}

/** One check's outcome: what the policy engine needs, and the answer's header changes on allow. */
export interface CheckOutcome {
  readonly result: CustomResult;
  /** The provider's answer (absent when it failed). */
  readonly answer?: ProviderAnswer;
  readonly cached: boolean;
}

/** One provider of the snapshot in force: its client, cache and counters. */
export class ProviderRuntime {
  readonly provider: CompiledProvider;
  readonly cache: DecisionCache | undefined;
  readonly counters: ProviderCounters = { allowed: 0, denied: 0, errors: 0, failedOpen: 0 };
  readonly #http: HttpAuthzClient | undefined;
  readonly #grpc: GrpcAuthzClient | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(provider: CompiledProvider, clock: Clock, logger: Logger) {
    this.provider = provider;
    this.#clock = clock;
    this.#logger = logger;
    this.cache = provider.cache === undefined ? undefined : new DecisionCache(provider.cache, clock);
    if (provider.kind === 'http') this.#http = new HttpAuthzClient(provider);
    else this.#grpc = new GrpcAuthzClient(provider);
  }

  /**
   * Asks the provider (or the cache) about one request. Never rejects: a provider that fails
   * yields statusOnError, or an allowance when failOpen. With a cache, the gRPC check leaves out
   * `request.time` and the source port (unique per request and per connection, they would make
   * every key unique), so the key covers exactly what was sent.
   */
  async check(input: CheckInput, jwtOutputs: readonly string[], log: Record<string, unknown>): Promise<CheckOutcome> {
    const p = this.provider;
    const cached = this.cache !== undefined;
    const sent = cached ? { ...input, sourcePort: undefined } : { ...input, timeMs: this.#clock.now() };
    const request = p.kind === 'http' ? httpCheckRequest(p, sent) : grpcCheckRequest(p, sent);
    const key = cached ? checkKey(p.name, request) : undefined;
    const hit = key === undefined ? undefined : this.cache!.get(key);
    if (hit !== undefined) return this.#outcome(hit, true, log);
    let answer: ProviderAnswer;
    try {
      answer = p.kind === 'http' ? await this.#http!.check(request as ReturnType<typeof httpCheckRequest>, jwtOutputs) : await this.#grpc!.check(request as ReturnType<typeof grpcCheckRequest>, jwtOutputs);
    } catch (err) {
      return this.#failed(err, log);
    }
    if (key !== undefined) this.cache!.set(key, answer);
    return this.#outcome(answer, false, log);
  }

  #outcome(answer: ProviderAnswer, cached: boolean, log: Record<string, unknown>): CheckOutcome {
    const name = this.provider.name;
    if (answer.kind === 'allow') {
      this.counters.allowed++;
      this.#logger.log('debug', 'inbound.ext_authz.allowed', { provider: name, cached, ...log });
      return { result: { allowed: true }, answer, cached };
    }
    this.counters.denied++;
    this.#logger.log('info', 'inbound.ext_authz.denied', { provider: name, status: answer.status, cached, responseFlags: EXT_AUTHZ_FLAG, ...log });
    return { result: { allowed: false, error: false, status: answer.status, reason: `provider ${JSON.stringify(name)} denied the request` }, answer, cached };
  }

  #failed(err: unknown, log: Record<string, unknown>): CheckOutcome {
    const p = this.provider;
    const e = err as Error & { name?: string; code?: string };
    const reason = e instanceof BadAnswer
      ? e.message
      : e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT'
        ? `no answer within ${p.timeoutMs} ms`
        : `${e.code ?? 'error'}: ${e.message}`;
    const text = `provider ${JSON.stringify(p.name)} failed: ${reason.slice(0, 300)}`;
    this.counters.errors++;
    if (p.failOpen) {
      this.counters.failedOpen++;
      this.#logger.log('warn', 'inbound.ext_authz.failed_open', { provider: p.name, reason: text, ...log });
      return { result: { allowed: true, failedOpen: true }, cached: false };
    }
    this.#logger.log('warn', 'inbound.ext_authz.failed', { provider: p.name, reason: text, status: p.statusOnError, responseFlags: EXT_AUTHZ_FLAG, ...log });
    return { result: { allowed: false, error: true, status: p.statusOnError, reason: text }, cached: false };
  }

  close(): void {
    void this.#http?.close().catch(() => undefined);
    this.#grpc?.close();
  }
}

/** The providers a prepared snapshot uses, by name. */
export interface ExtAuthzProviders {
  get(name: string): ProviderRuntime | undefined;
}

/** Policies named in a fingerprint: `namespace/name@resourceVersion` of the CUSTOM policies naming the provider. */
export interface ProviderUse {
  readonly provider: CompiledProvider;
  readonly policies: readonly string[];
}

/** One per sidecar: keeps each provider's client and cache while the snapshot leaves them unchanged. */
export class ExtAuthz {
  readonly #clock: Clock;
  readonly #logger: Logger;
  #live = new Map<string, { fingerprint: string; runtime: ProviderRuntime }>();
  #retired = { allowed: 0, denied: 0, errors: 0, failedOpen: 0, hits: 0, misses: 0, evictions: 0 };

  constructor(opts: { clock?: Clock; logger?: Logger } = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger ?? silentLogger;
  }

  /** Runtimes for a snapshot's providers; ones whose provider or policies changed start with an empty cache. */
  prepare(uses: ReadonlyMap<string, ProviderUse>): ExtAuthzProviders {
    const next = new Map<string, { fingerprint: string; runtime: ProviderRuntime }>();
    for (const [name, use] of uses) {
      const fingerprint = `${use.provider.fingerprint}|${[...use.policies].sort().join(',')}`;
      const old = this.#live.get(name);
      if (old !== undefined && old.fingerprint === fingerprint) next.set(name, old);
      else {
        next.set(name, { fingerprint, runtime: new ProviderRuntime(use.provider, this.#clock, this.#logger) });
        if (old !== undefined) this.#logger.log('info', 'ext_authz.provider.reset', { provider: name, reason: 'the provider or a CUSTOM policy naming it changed: its decision cache is dropped' });
      }
    }
    for (const [name, old] of this.#live) if (next.get(name) !== old) this.#retire(old.runtime);
    this.#live = next;
    const runtimes = new Map([...next].map(([k, v]) => [k, v.runtime]));
    return { get: (name) => runtimes.get(name) };
  }

  #retire(r: ProviderRuntime): void {
    const t = this.#retired;
    t.allowed += r.counters.allowed;
    t.denied += r.counters.denied;
    t.errors += r.counters.errors;
    t.failedOpen += r.counters.failedOpen;
    t.hits += r.cache?.counters.hits ?? 0;
    t.misses += r.cache?.counters.misses ?? 0;
    t.evictions += r.cache?.counters.evictions ?? 0;
    r.close();
  }

  /** Totals over every provider, by counter name, for the sidecar's /stats (fixed names: Prometheus metrics are registered once). */
  stats(): Record<string, number> {
    const t = { ...this.#retired };
    for (const { runtime: r } of this.#live.values()) {
      const c = r.counters;
      t.allowed += c.allowed;
      t.denied += c.denied;
      t.errors += c.errors;
      t.failedOpen += c.failedOpen;
      t.hits += r.cache?.counters.hits ?? 0;
      t.misses += r.cache?.counters.misses ?? 0;
      t.evictions += r.cache?.counters.evictions ?? 0;
    }
    return {
      ext_authz_allowed_total: t.allowed,
      ext_authz_denied_total: t.denied,
      ext_authz_errors_total: t.errors,
      ext_authz_failed_open_total: t.failedOpen,
      ext_authz_cache_hits_total: t.hits,
      ext_authz_cache_misses_total: t.misses,
      ext_authz_cache_evictions_total: t.evictions,
    };
  }

  /** The counters of each provider in force (answers, and its cache when it has one), by provider name. */
  providers(): Record<string, ProviderCounters & { cache?: { hits: number; misses: number; evictions: number; entries: number; bytes: number } }> {
    const out: Record<string, ProviderCounters & { cache?: { hits: number; misses: number; evictions: number; entries: number; bytes: number } }> = {};
    for (const [name, { runtime: r }] of this.#live) {
      const k = r.cache?.counters;
      out[name] = { ...r.counters, ...(k === undefined ? {} : { cache: { hits: k.hits, misses: k.misses, evictions: k.evictions, entries: k.entries, bytes: k.bytes } }) };
    }
    return out;
  }

  close(): void {
    for (const { runtime } of this.#live.values()) runtime.close();
    this.#live = new Map();
  }
}
