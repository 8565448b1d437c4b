// Trust bundles: the X.509 roots and JWT keys of one trust domain (SPIFFE Trust Domain and Bundle
// §4), and the set of bundles a workload trusts, keyed by trust domain and never pooled.
import type { JWK } from 'jose';
import { readCertificate, sha256Fingerprint } from './certificate.js';
import { PemError, TrustBundleError } from './errors.js';
import { certificatesToPem, parseCertificatesPem } from './pem.js';
import { parseTrustDomain } from './spiffe-id.js';

/** A JWT-SVID signing key of a trust domain. */
export interface JwtAuthority {
  readonly keyId: string;
  /** The public key as a JWK (no private members). */
  readonly publicKey: JWK;
}

/**
 * What a trust domain publishes: its X.509 roots and JWT keys. A bundle does not name its trust
 * domain on the wire; the pairing is kept here.
 */
export interface TrustBundle {
  readonly trustDomain: string;
  /** DER of each X.509 authority (normally self-signed roots; several during a rotation). */
  readonly x509Authorities: readonly Buffer[];
  readonly jwtAuthorities: readonly JwtAuthority[];
  /** `spiffe_sequence`: grows whenever the content changes; a bigint beyond 2^53. */
  readonly sequence?: bigint | number;
  /** `spiffe_refresh_hint`, in seconds. */
  readonly refreshHintSeconds?: number;
}

/** The fields of a new bundle; see {@link createTrustBundle}. */
export interface TrustBundleInit {
  trustDomain: string;
  x509Authorities?: readonly Uint8Array[];
  jwtAuthorities?: readonly JwtAuthority[];
  sequence?: bigint | number;
  refreshHintSeconds?: number;
}

const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Builds a frozen bundle after checking it: a valid trust domain, every X.509 authority a CA
 * certificate (duplicates dropped), unique JWT key ids, and a uint64 sequence.
 *
 * @throws TrustBundleError (`WEFT_BUNDLE_INVALID`); SpiffeIdError for a bad trust domain.
 */
export function createTrustBundle(init: TrustBundleInit): TrustBundle {
  const trustDomain = parseTrustDomain(init.trustDomain);
  const seen = new Set<string>();
  const x509Authorities: Buffer[] = [];
  (init.x509Authorities ?? []).forEach((der, i) => {
    assertCaCertificate(trustDomain, der, `X.509 authority ${i + 1}`, { keyIndex: i });
    const fp = sha256Fingerprint(der);
    if (seen.has(fp)) return;
    seen.add(fp);
    x509Authorities.push(Buffer.from(der));
  });
  const kids = new Set<string>();
  for (const [i, a] of (init.jwtAuthorities ?? []).entries()) {
    if (typeof a.keyId !== 'string' || a.keyId.length === 0) throw new TrustBundleError(trustDomain, `JWT authority ${i + 1} has no key id`, { keyIndex: i, field: 'kid' });
    if (kids.has(a.keyId)) throw new TrustBundleError(trustDomain, `JWT key id "${a.keyId}" appears twice`, { keyIndex: i, field: 'kid' });
    kids.add(a.keyId);
  }
  const { sequence, refreshHintSeconds } = init;
  if (sequence !== undefined && !isUint64(sequence)) {
    throw new TrustBundleError(trustDomain, `spiffe_sequence must be an integer from 0 to 2^64-1, got ${String(sequence)}`, { field: 'spiffe_sequence' });
  }
  if (refreshHintSeconds !== undefined && !(Number.isSafeInteger(refreshHintSeconds) && refreshHintSeconds >= 0)) {
    throw new TrustBundleError(trustDomain, `spiffe_refresh_hint must be a whole number of seconds >= 0, got ${String(refreshHintSeconds)}`, {
      field: 'spiffe_refresh_hint',
    });
  }
  return Object.freeze({
    trustDomain,
    x509Authorities: Object.freeze(x509Authorities),
    jwtAuthorities: Object.freeze((init.jwtAuthorities ?? []).map((a) => Object.freeze({ keyId: a.keyId, publicKey: Object.freeze({ ...a.publicKey }) }))),
    ...(sequence === undefined ? {} : { sequence }),
    ...(refreshHintSeconds === undefined ? {} : { refreshHintSeconds }),
  });
}

function isUint64(v: bigint | number): boolean {
  if (typeof v === 'bigint') return v >= 0n && v <= UINT64_MAX;
  return Number.isSafeInteger(v) && v >= 0;
}

/** @throws TrustBundleError unless `der` is one well-formed certificate with basicConstraints cA=true. */
export function assertCaCertificate(trustDomain: string, der: Uint8Array, what: string, where: { keyIndex?: number; field?: string }): void {
  let ca: boolean;
  try {
    ca = readCertificate(der).basicConstraints?.ca === true;
  } catch (err) {
    throw new TrustBundleError(trustDomain, `${what} is not a valid X.509 certificate: ${(err as Error).message}`, { ...where, cause: err });
  }
  if (!ca) throw new TrustBundleError(trustDomain, `${what} is not a CA certificate (basicConstraints cA is not true)`, where);
}

/**
 * Reads a PEM bundle file: CERTIFICATE blocks only, each a CA certificate, at least one.
 *
 * @throws TrustBundleError (`WEFT_BUNDLE_INVALID`) naming the block at fault.
 * @example bundleFromPem('cluster.local', readFileSync('root-cert.pem', 'utf8'))
 */
export function bundleFromPem(trustDomain: string, pem: string): TrustBundle {
  const td = parseTrustDomain(trustDomain);
  let ders: Buffer[];
  try {
    ders = parseCertificatesPem(pem);
  } catch (err) {
    if (!(err instanceof PemError)) throw err;
    const index = err.block === undefined ? {} : { keyIndex: err.block - 1 };
    throw new TrustBundleError(td, err.message, { ...index, cause: err });
  }
  ders.forEach((der, i) => assertCaCertificate(td, der, `PEM block ${i + 1}`, { keyIndex: i }));
  return createTrustBundle({ trustDomain: td, x509Authorities: ders });
}

/** The bundle's X.509 authorities as PEM CERTIFICATE blocks, in order (JWT keys are not representable). */
export function bundleToPem(bundle: TrustBundle): string {
  return certificatesToPem(bundle.x509Authorities);
}

/** 'sha256:' + lowercase hex of the DER: the exact format the CA prints and join tokens pin. */
export function rootFingerprint(der: Uint8Array): string {
  return sha256Fingerprint(der);
}

// === TrustBundleSet ===

/**
 * The bundles a workload trusts, one per trust domain. An SVID is checked against the bundle of
 * its own trust domain only; bundles are never pooled.
 */
export class TrustBundleSet implements Iterable<TrustBundle> {
  readonly #bundles = new Map<string, TrustBundle>();

  /** @throws TypeError when two bundles name the same trust domain. */
  constructor(bundles: Iterable<TrustBundle> = []) {
    for (const b of bundles) {
      if (this.#bundles.has(b.trustDomain)) throw new TypeError(`"bundles" holds two bundles for trust domain ${b.trustDomain}`);
      this.#bundles.set(b.trustDomain, b);
    }
  }

  /** The bundle of `trustDomain`, or undefined. */
  get(trustDomain: string): TrustBundle | undefined {
    return this.#bundles.get(trustDomain);
  }

  has(trustDomain: string): boolean {
    return this.#bundles.has(trustDomain);
  }

  /** Adds or replaces the bundle of `bundle.trustDomain`. */
  set(bundle: TrustBundle): this {
    this.#bundles.set(bundle.trustDomain, bundle);
    return this;
  }

  delete(trustDomain: string): boolean {
    return this.#bundles.delete(trustDomain);
  }

  get size(): number {
    return this.#bundles.size;
  }

  trustDomains(): string[] {
    return [...this.#bundles.keys()];
  }

  [Symbol.iterator](): Iterator<TrustBundle> {
    return this.#bundles.values();
  }
}
