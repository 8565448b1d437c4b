// A parsed JWKS (RFC 7517) reduced to what verification needs: public asymmetric keys only. Keys
// are imported lazily, once per (key, algorithm), and reused. A key is offered only for the
// algorithms its type and curve allow, and only the one named by its own `alg`, so a token cannot
// make a key be used with an algorithm it was not made for (RFC 8725 §3.1).
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { JwksError } from './errors.js';

/** The token algorithms weft verifies: asymmetric signatures only (RFC 8725 §3.1). */
export const ACCEPTED_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

const EC_CURVE: Readonly<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Caps a set so a hostile or broken JWKS endpoint cannot make every lookup scan thousands of keys. */
export const MAX_KEYS = 100;

interface PublicJwk {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly kid?: string;
  readonly alg?: string;
  readonly jwk: JWK;
}

/** One key set; immutable once parsed. */
export class JwksKeySet {
  readonly #keys: readonly PublicJwk[];
  readonly #imported = new Map<string, CryptoKey | null>();
  readonly #importing = new Map<string, Promise<CryptoKey | null>>();

  private constructor(keys: readonly PublicJwk[]) {
    this.#keys = keys;
  }

  /**
   * Parses a JWKS document. Symmetric (`oct`), encryption-only and incomplete keys are left out;
   * private members are dropped.
   *
   * @throws JwksError `WEFT_JWKS_INVALID` when the text is not a JWKS or holds no usable public key.
   */
  static parse(text: string, source: string): JwksKeySet {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new JwksError('WEFT_JWKS_INVALID', source, 'jwks is not valid json', { cause: err });
    }
    const keys = isRecord(doc) && Array.isArray(doc.keys) ? doc.keys : undefined;
    if (keys === undefined) throw new JwksError('WEFT_JWKS_INVALID', source, 'jwks has no "keys" array');
    const usable: PublicJwk[] = [];
    for (const k of keys.slice(0, MAX_KEYS)) {
      const key = publicPart(k);
      if (key !== undefined) usable.push(key);
    }
    if (usable.length === 0) throw new JwksError('WEFT_JWKS_INVALID', source, 'jwks holds no usable public signing key');
    return new JwksKeySet(usable);
  }

  /** Number of usable keys. */
  get size(): number {
    return this.#keys.length;
  }

  /** Key ids in the set (for logs). */
  kids(): string[] {
    return this.#keys.map((k) => k.kid ?? '');
  }

  /** True when some key fits the algorithm and, when given, the kid. */
  has(alg: string, kid: string | undefined): boolean {
    return this.#keys.some((k) => fits(k, alg, kid));
  }

  /** The imported keys that fit `alg` and `kid`; a token without kid may be checked against each. */
  async keysFor(alg: string, kid: string | undefined): Promise<CryptoKey[]> {
    const out: CryptoKey[] = [];
    for (let i = 0; i < this.#keys.length; i++) {
      const k = this.#keys[i]!;
      if (!fits(k, alg, kid)) continue;
      const id = `${i}|${alg}`;
      let key = this.#imported.get(id);
      if (key === undefined) key = await this.#import(id, k, alg);
      if (key !== null) out.push(key);
    }
    return out;
  }

  #import(id: string, k: PublicJwk, alg: string): Promise<CryptoKey | null> {
    let p = this.#importing.get(id);
    if (p === undefined) {
      p = importJWK(k.jwk, alg).then(
        (key) => (key instanceof Uint8Array ? null : key),
        () => null, // a key whose numbers do not import cannot verify anything: treated as absent
      );
      p.then((key) => this.#imported.set(id, key));
      this.#importing.set(id, p);
    }
    return p;
  }
}

/** True when `alg` is one weft verifies. */
export function isAcceptedAlgorithm(alg: string): boolean {
  return ACCEPTED_ALGORITHMS.includes(alg);
}

function fits(k: PublicJwk, alg: string, kid: string | undefined): boolean {
  if (kid !== undefined && k.kid !== kid) return false;
  if (k.alg !== undefined && k.alg !== alg) return false;
  switch (k.kty) {
    case 'RSA':
      return alg.startsWith('RS') || alg.startsWith('PS');
    case 'EC':
      return EC_CURVE[alg] !== undefined && k.jwk.crv === EC_CURVE[alg];
    case 'OKP':
      return (alg === 'EdDSA' || alg === 'Ed25519') && k.jwk.crv === 'Ed25519';
  }
}

function publicPart(k: unknown): PublicJwk | undefined {
  if (!isRecord(k)) return undefined;
  if (k.use !== undefined && k.use !== 'sig') return undefined;
  if (Array.isArray(k.key_ops) && !k.key_ops.includes('verify')) return undefined;
  if (k.kid !== undefined && typeof k.kid !== 'string') return undefined;
  if (k.alg !== undefined && (typeof k.alg !== 'string' || !isAcceptedAlgorithm(k.alg))) return undefined;
  const meta = { ...(k.kid === undefined ? {} : { kid: k.kid as string }), ...(k.alg === undefined ? {} : { alg: k.alg as string }) };
  if (k.kty === 'RSA' && strings(k.n, k.e)) return { kty: 'RSA', ...meta, jwk: { kty: 'RSA', n: k.n as string, e: k.e as string } };
  if (k.kty === 'EC' && strings(k.crv, k.x, k.y)) {
    return { kty: 'EC', ...meta, jwk: { kty: 'EC', crv: k.crv as string, x: k.x as string, y: k.y as string } };
  }
  if (k.kty === 'OKP' && strings(k.crv, k.x)) return { kty: 'OKP', ...meta, jwk: { kty: 'OKP', crv: k.crv as string, x: k.x as string } };
  return undefined;
}

function strings(...v: unknown[]): boolean {
  return v.every((x) => typeof x === 'string' && x !== '');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
