// Verifying a presented join token, in an order chosen so each refusal says the most useful true
// thing: malformed (shape), foreign (another trust domain, CA or token key: read from the
// unverified token, so a token of another weft mesh is not reported as forged), forged (alg or
// signature), then, for a genuine token, its record: unknown, revoked, used, expired.
import { JoinTokenError } from './errors.js';
import { checkJoinTokenHeader, JOIN_TOKEN_ALG, parseJoinToken, type JoinTokenClaims, type ParsedJoinToken } from './join-token.js';
import { verifyCompactEs256 } from './compact-jws.js';
import type { TokenSigningKey } from './signing-key.js';
import type { StoredJoinToken } from './token-file.js';

/** What the verifier expects of a token: its own trust domain and CA. */
export interface JoinTokenExpectation {
  trustDomain: string;
  /** The CA root's fingerprint, 'sha256:<64 lowercase hex>'. */
  caFingerprint: string;
}

/** What a verified token proves: the bearer may claim `spiffeId`. */
export interface VerifiedJoinToken {
  readonly tokenId: string;
  readonly spiffeId: string;
}

/** The state of a token record at a given time, in the precedence `verify` refuses with. */
export type JoinTokenState = 'active' | 'revoked' | 'used' | 'expired';

function refuse(code: JoinTokenError['code'], reason: JoinTokenError['reason'], id: string, detail: string): never {
  throw new JoinTokenError(code, reason, id, `join token ${id} ${detail}`);
}

/**
 * Parses a token and proves it was signed by this data directory's key for this mesh. `keyFor(kid)`
 * returns the current token-signing key (reloading it if `kid` is not the cached one), or
 * undefined when there is none.
 *
 * @throws JoinTokenError MALFORMED, FOREIGN or FORGED
 */
export function authenticateJoinToken(token: unknown, expect: JoinTokenExpectation, keyFor: (kid: string) => TokenSigningKey | undefined): ParsedJoinToken {
  const parsed = parseJoinToken(token);
  const { jti: id, ca } = parsed.claims;
  const td = parsed.spiffeId.trustDomain;
  if (td !== expect.trustDomain) {
    refuse('WEFT_TOKEN_FOREIGN', 'trust-domain', id, `is foreign: it was issued for trust domain "${td}", this control plane serves "${expect.trustDomain}"`);
  }
  if (ca !== expect.caFingerprint) {
    refuse('WEFT_TOKEN_FOREIGN', 'ca-fingerprint', id, `is foreign: it pins CA ${ca}, this control plane's CA is ${expect.caFingerprint}`);
  }
  const alg = parsed.jws.header.alg;
  if (alg !== JOIN_TOKEN_ALG) {
    const shown = typeof alg === 'string' ? `"${alg.slice(0, 20)}"` : 'missing';
    refuse('WEFT_TOKEN_FORGED', 'alg', id, `is forged: alg ${shown} is not allowed, join tokens are ${JOIN_TOKEN_ALG}`);
  }
  const kid = checkJoinTokenHeader(parsed);
  const key = keyFor(kid);
  if (key === undefined || key.kid !== kid) {
    const ours = key === undefined ? 'this data directory has none yet' : `this data directory's is ${key.kid}`;
    refuse('WEFT_TOKEN_FOREIGN', 'signing-key', id, `is foreign: it was signed by another token key (${ours}); was it created with another --data-dir?`);
  }
  if (!verifyCompactEs256(parsed.jws, key.publicKey)) {
    refuse('WEFT_TOKEN_FORGED', 'signature', id, "is forged: its signature does not verify with this control plane's token key");
  }
  return parsed;
}

/** The state of `record` at `nowMs`: revoked beats used beats expired, as `weft token list` shows it. */
export function joinTokenState(record: Readonly<StoredJoinToken>, nowMs: number): JoinTokenState {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.once && record.usedAt !== undefined) return 'used';
  if (nowMs >= record.expiresAt) return 'expired';
  return 'active';
}

/**
 * Judges an authenticated token by its record: it must exist, agree with the signed claims, and be
 * active. Expiry takes the earlier of the record's `expiresAt` and the signed `exp` (they are equal
 * for every token this store made); RFC 7519 §4.1.4: not accepted "on or after" the expiry time.
 *
 * @throws JoinTokenError UNKNOWN, FORGED (claims differ from the record), REVOKED, REUSED or EXPIRED
 */
export function judgeJoinTokenRecord(record: Readonly<StoredJoinToken> | undefined, claims: JoinTokenClaims, nowMs: number): void {
  const id = claims.jti;
  const iso = (ms: number) => new Date(ms).toISOString();
  if (record === undefined) {
    refuse('WEFT_TOKEN_UNKNOWN', 'unknown', id, "is unknown: it is validly signed but this data directory's token store has no record of it (was tokens.json removed or restored?)");
  }
  const mismatch = record.spiffeId !== claims.sub ? 'sub' : record.once !== claims.once ? 'once' : record.caFingerprint !== claims.ca ? 'ca' : undefined;
  if (mismatch !== undefined) {
    refuse('WEFT_TOKEN_FORGED', 'claims', id, `is forged: its claim "${mismatch}" does not match the token's record`);
  }
  const expiresAt = Math.min(record.expiresAt, claims.exp * 1000);
  const state = joinTokenState({ ...record, expiresAt }, nowMs);
  if (state === 'revoked') refuse('WEFT_TOKEN_REVOKED', 'revoked', id, `was revoked at ${iso(record.revokedAt!)}`);
  if (state === 'used') refuse('WEFT_TOKEN_REUSED', 'reused', id, `was already used at ${iso(record.usedAt!)}: it is a single-use (--once) token`);
  if (state === 'expired') refuse('WEFT_TOKEN_EXPIRED', 'expired', id, `expired at ${iso(expiresAt)}`);
}
