// Consistent hashing: Envoy's ring hash (ketama style) and Maglev over a pool of endpoints, and
// the request key they hash (header, cookie, source address, query parameter). Tables are built
// once per pool (the cluster balancer keeps a pool while the endpoint set and health stay the
// same) and looked up in O(log n) (ring) or O(1) (Maglev).
import { MAX_RING_SIZE, type HashAlgorithm, type HashKeySource } from './cluster-policy.js';
import { firstNotAvoided, randomIndex, type ChooseContext, type Chooser } from './balancers.js';
import { hash53, hashHex, ringPosition } from './hash.js';
import type { EndpointView } from './types.js';

/** What a consistent hash reads of a request; the proxy implements it over its parsed request. */
export interface HashInput {
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  query(name: string): string | undefined;
  /** The downstream peer's address, without port. */
  readonly sourceIp: string;
  /** The downstream connection's `address:port`: a generated cookie's value derives from it. */
  readonly downstreamAddress: string;
}

/** A cookie the response must set so the client's next requests hash the same way. */
export interface AffinityCookie {
  readonly name: string;
  readonly value: string;
  /** The whole Set-Cookie header value. */
  readonly setCookie: string;
}

export interface RequestHash {
  /** undefined when the request lacks the key: Envoy then picks at random. */
  readonly hash: number | undefined;
  readonly cookie: AffinityCookie | undefined;
}

const NO_HASH: RequestHash = { hash: undefined, cookie: undefined };

function unquote(v: string): string {
  return v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22 ? v.slice(1, -1) : v;
}

/**
 * The request's hash under `source`. A missing cookie with a ttl is generated as Envoy does: its
 * value is the hash of the downstream connection's address (so streams of one connection agree),
 * and the request hashes that value, as the client's next requests will.
 */
export function requestHash(source: HashKeySource, input: HashInput | undefined): RequestHash {
  if (input === undefined) return NO_HASH;
  switch (source.kind) {
    case 'header': {
      const v = input.header(source.name);
      return v === undefined ? NO_HASH : { hash: hash53(v), cookie: undefined };
    }
    case 'query': {
      const v = input.query(source.name);
      return v === undefined ? NO_HASH : { hash: hash53(v), cookie: undefined };
    }
    case 'source-ip':
      return input.sourceIp === '' ? NO_HASH : { hash: hash53(input.sourceIp), cookie: undefined };
    case 'cookie': {
      const v = input.cookie(source.name);
      if (v !== undefined) return { hash: hash53(unquote(v)), cookie: undefined };
      if (source.ttlMs === undefined) return NO_HASH;
      const value = hashHex(hash53(input.downstreamAddress));
      return { hash: hash53(value), cookie: { name: source.name, value, setCookie: setCookieValue(source, value) } };
    }
    case 'none':
      return NO_HASH;
  }
}

/** `name="value"; Max-Age=N; Path=p; HttpOnly` plus the configured attributes, as Envoy writes it. */
function setCookieValue(source: Extract<HashKeySource, { kind: 'cookie' }>, value: string): string {
  let out = `${source.name}="${value}"`;
  const maxAge = Math.floor((source.ttlMs ?? 0) / 1000);
  if (maxAge > 0) out += `; Max-Age=${maxAge}`;
  if (source.path !== undefined && source.path !== '') out += `; Path=${source.path}`;
  out += '; HttpOnly';
  for (const a of source.attributes) out += a.value === undefined || a.value === '' ? `; ${a.name}` : `; ${a.name}=${a.value}`;
  return out;
}

/** A built ring: sorted positions and the endpoint of each. */
export interface Ring {
  /** position * 2^20 + endpoint index, sorted: one array, sorted natively. */
  readonly points: Float64Array;
  readonly pool: readonly EndpointView[];
}

const INDEX_BITS = 1_048_576; // 2^20: pools larger than this are not hashed (see buildRing)

/**
 * Envoy's ring: each endpoint gets ceil(minimumRingSize / n) points at hash(`key_i`), capped so
 * the ring stays at or below MAX_RING_SIZE. Ring positions are 32-bit; ties between endpoints
 * (rare) resolve by endpoint order, the same on every build.
 */
export function buildRing(pool: readonly EndpointView[], minimumRingSize: number): Ring {
  const n = Math.min(pool.length, INDEX_BITS);
  if (n === 0) return { points: new Float64Array(0), pool };
  const perHost = Math.max(1, Math.min(Math.ceil(minimumRingSize / n), Math.floor(MAX_RING_SIZE / n)));
  const points = new Float64Array(n * perHost);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const key = pool[i]!.key;
    for (let j = 0; j < perHost; j++) points[k++] = ringPosition(hash53(`${key}_${j}`)) * INDEX_BITS + i;
  }
  points.sort();
  return { points, pool };
}

/** The ring's endpoint index for a hash: the first point at or after it, wrapping. */
export function ringLookup(ring: Ring, hash: number): number {
  const pts = ring.points;
  const target = ringPosition(hash) * INDEX_BITS;
  let lo = 0;
  let hi = pts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pts[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  const point = pts[lo === pts.length ? 0 : lo]!;
  return point % INDEX_BITS;
}

/**
 * Maglev (Eisenbud et al., as Envoy builds it with equal weights): every endpoint walks its own
 * permutation of the table (offset and skip from two hashes of its key), taking turns to claim its
 * next free slot until the table is full, so each endpoint owns floor or ceil of size / n slots.
 */
export function buildMaglev(pool: readonly EndpointView[], tableSize: number): Int32Array {
  const m = tableSize;
  const table = new Int32Array(m).fill(-1);
  const n = pool.length;
  if (n === 0) return table;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = pool[i]!.key;
    offset[i] = hash53(key, 0) % m;
    skip[i] = (hash53(key, 1) % (m - 1)) + 1;
    next[i] = offset[i]!;
  }
  let filled = 0;
  // Each round every endpoint claims one slot; a permutation visits every slot within m steps,
  // so the loop ends after at most m rounds of n claims.
  while (filled < m) {
    for (let i = 0; i < n && filled < m; i++) {
      let c = next[i]!;
      while (table[c] !== -1) c = (c + skip[i]!) % m;
      table[c] = i;
      next[i] = (c + skip[i]!) % m;
      filled++;
    }
  }
  return table;
}

/** A consistent-hash chooser; tables are cached by pool identity. */
export class ConsistentHash implements Chooser {
  readonly #algorithm: HashAlgorithm;
  readonly #rings = new WeakMap<readonly EndpointView[], Ring>();
  readonly #tables = new WeakMap<readonly EndpointView[], Int32Array>();

  constructor(algorithm: HashAlgorithm) {
    this.#algorithm = algorithm;
  }

  /** Tables built so far for `pool` (0 or 1): lets tests see that a pool is built once. */
  built(pool: readonly EndpointView[]): boolean {
    return this.#rings.has(pool) || this.#tables.has(pool);
  }

  choose(pool: readonly EndpointView[], ctx: ChooseContext): EndpointView | undefined {
    const n = pool.length;
    if (n === 0) return undefined;
    if (ctx.hash === undefined) {
      const i = randomIndex(ctx.random, n);
      return ctx.avoid === undefined ? pool[i] : (firstNotAvoided(pool, i, ctx.avoid) ?? pool[i]);
    }
    const i = this.#indexOf(pool, ctx.hash);
    const ep = pool[i]!;
    if (ctx.avoid === undefined || !ctx.avoid.avoids(ep)) return ep;
    // A retry that must avoid this endpoint walks on to the next one (Istio passes no avoid set
    // for hashed clusters, so this happens only if the proxy asks for it).
    return firstNotAvoided(pool, i + 1, ctx.avoid) ?? ep;
  }

  #indexOf(pool: readonly EndpointView[], hash: number): number {
    if (this.#algorithm.kind === 'maglev') {
      let table = this.#tables.get(pool);
      if (table === undefined) {
        table = buildMaglev(pool, this.#algorithm.tableSize);
        this.#tables.set(pool, table);
      }
      return table[hash % table.length]!;
    }
    let ring = this.#rings.get(pool);
    if (ring === undefined) {
      ring = buildRing(pool, this.#algorithm.minimumRingSize);
      this.#rings.set(pool, ring);
    }
    return ringLookup(ring, hash);
  }
}
