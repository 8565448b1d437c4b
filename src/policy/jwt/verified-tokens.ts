// Tokens whose signature and static claims already passed, so the same bearer token on the next
// request costs a map lookup and a clock check instead of a signature verification (the idea of
// Envoy's jwt_authn `jwt_cache_config`). An entry is tied to the rule that accepted it and to the
// very key object that verified it: a new snapshot compiles new rules, a refetched or rotated key
// set yields new key objects, and either way the token is verified afresh.
import type { CryptoKey, JWTPayload } from 'jose';
import type { CompiledJwtRule } from './types.js';

/** How many tokens one workload remembers (least recently used first out). */
export const VERIFIED_TOKEN_CACHE_SIZE = 500;

/** Longer tokens are verified every time, so the cache stays small (a few MB at most). */
export const MAX_CACHED_TOKEN_LENGTH = 4_096;

export interface VerifiedToken {
  readonly rule: CompiledJwtRule;
  /** The header's alg and kid, to ask the resolver whether `key` is still served. */
  readonly alg: string;
  readonly kid: string | undefined;
  readonly key: CryptoKey;
  readonly payload: JWTPayload;
  readonly payloadSegment: string;
}

export class VerifiedTokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, VerifiedToken>();

  constructor(max = VERIFIED_TOKEN_CACHE_SIZE) {
    this.#max = max;
  }

  /**
   * The cached verification of `token`. It vouches only if its rule is one the request may use and
   * its key is among those the resolver serves now; time claims are the caller's to check again.
   */
  get(token: string): VerifiedToken | undefined {
    const hit = this.#entries.get(token);
    if (hit === undefined) return undefined;
    this.#entries.delete(token);
    this.#entries.set(token, hit);
    return hit;
  }

  set(token: string, entry: VerifiedToken): void {
    if (token.length > MAX_CACHED_TOKEN_LENGTH) return;
    this.#entries.delete(token);
    this.#entries.set(token, entry);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  get size(): number {
    return this.#entries.size;
  }
}
