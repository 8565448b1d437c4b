// The decision cache of one provider in one sidecar (weft's own: Envoy's ext_authz has none). Keyed
// by checkKey (a hash of exactly what the provider was sent); an answer lives for the TTL the
// provider named, else the configured default, never past maxTtl; bounded in entries and bytes,
// least recently used first out. A Map keeps insertion order, so re-inserting on a hit makes it
// the LRU list.
import type { Clock } from '../../lib/clock.js';
import type { CacheSettings } from '../../policy/ext-authz/index.js';
import type { ProviderAnswer } from './answer.js';

interface Entry {
  readonly answer: ProviderAnswer;
  readonly expires: number;
  readonly bytes: number;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  evictions: number;
  expired: number;
  entries: number;
  bytes: number;
}

/** Per-entry overhead counted on top of the answer's own bytes (key, map slot, object). */
const ENTRY_OVERHEAD = 128;

function sizeOf(key: string, a: ProviderAnswer): number {
  let n = ENTRY_OVERHEAD + key.length;
  if (a.kind === 'deny') {
    n += Buffer.byteLength(a.body);
    for (const [k, v] of a.headers) n += k.length + v.length;
  } else {
    for (const e of a.upstream) n += e.name.length + e.value.length + 8;
    for (const r of a.remove) n += r.length;
    for (const [k, v] of a.downstream) n += k.length + v.length;
  }
  return n;
}

export class DecisionCache {
  readonly #settings: CacheSettings;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, evictions: 0, expired: 0, entries: 0, bytes: 0 };

  constructor(settings: CacheSettings, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  get(key: string): ProviderAnswer | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) {
      this.counters.misses++;
      return undefined;
    }
    this.#entries.delete(key);
    if (e.expires <= this.#clock.now()) {
      this.counters.expired++;
      this.counters.misses++;
      this.#account(-e.bytes, -1);
      return undefined;
    }
    this.#entries.set(key, e);
    this.counters.hits++;
    return e.answer;
  }

  /** Keeps an answer for its TTL; one with TTL 0, or too large for the whole cache, is not kept. */
  set(key: string, answer: ProviderAnswer): void {
    const ttl = Math.min(answer.ttlMs ?? this.#settings.defaultTtlMs, this.#settings.maxTtlMs);
    const bytes = sizeOf(key, answer);
    if (ttl <= 0 || bytes > this.#settings.maxBytes) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#account(-old.bytes, -1);
    }
    this.#entries.set(key, { answer, expires: this.#clock.now() + ttl, bytes });
    this.#account(bytes, 1);
    for (const [k, e] of this.#entries) {
      if (this.counters.entries <= this.#settings.maxEntries && this.counters.bytes <= this.#settings.maxBytes) break;
      this.#entries.delete(k);
      this.#account(-e.bytes, -1);
      this.counters.evictions++;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  #account(bytes: number, entries: number): void {
    this.counters.bytes += bytes;
    this.counters.entries += entries;
  }
}
