// Issuing a join token: check the operator's options, pick a random id, sign the claims. The store
// (token-store.ts) records the result; this file touches no file.
import { randomBytes } from 'node:crypto';
import { reservedIdentityReason, workloadSpiffeId } from '../identity/index.js';
import { formatDuration } from '../lib/duration.js';
import { JoinTokenStoreError, ReservedIdentityError } from './errors.js';
import { CA_FINGERPRINT_PATTERN, encodeJoinToken, type JoinTokenClaims } from './join-token.js';
import type { TokenSigningKey } from './signing-key.js';
import type { StoredJoinToken } from './token-file.js';

/** A token lives 24 hours unless `ttlMs` says otherwise. */
export const DEFAULT_JOIN_TOKEN_TTL_MS = 24 * 3_600_000;
/** The longest a join token may live: 30 days. It bootstraps a workload; SVIDs take over after that. */
export const MAX_JOIN_TOKEN_TTL_MS = 30 * 86_400_000;

/** What `JoinTokenStore#create` takes. */
export interface CreateJoinTokenOptions {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
  /** How long the token can be used; default 24h, more than 0, at most 30d. */
  ttlMs?: number;
  /** True for a token only one workload can use (`--once`). */
  once?: boolean;
  /** The CA root's fingerprint, 'sha256:<64 lowercase hex>' of its DER. */
  caFingerprint: string;
  /** MeshConfig's admin identities: no token may name one (nor the control plane's identity). */
  adminIdentities?: readonly string[];
}

/** A newly created token. `token` is the secret to hand to the workload; it is stored nowhere. */
export interface CreatedJoinToken {
  readonly token: string;
  readonly id: string;
  readonly spiffeId: string;
  readonly expiresAt: Date;
  readonly once: boolean;
}

/** Checks options; bad types are TypeErrors, a bad identity or TTL from the operator a WeftError. */
function checkOptions(opts: CreateJoinTokenOptions): { spiffeId: string; ttlMs: number; once: boolean } {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('"opts" must be an object');
  for (const name of ['trustDomain', 'namespace', 'serviceAccount', 'caFingerprint'] as const) {
    if (typeof opts[name] !== 'string') throw new TypeError(`"${name}" must be a string`);
  }
  if (!CA_FINGERPRINT_PATTERN.test(opts.caFingerprint)) throw new TypeError('"caFingerprint" must be sha256:<64 lowercase hex>');
  if (opts.once !== undefined && typeof opts.once !== 'boolean') throw new TypeError('"once" must be a boolean');
  const ttlMs = opts.ttlMs ?? DEFAULT_JOIN_TOKEN_TTL_MS;
  if (typeof ttlMs !== 'number') throw new TypeError('"ttlMs" must be a number');
  if (!(ttlMs > 0 && ttlMs <= MAX_JOIN_TOKEN_TTL_MS)) {
    const shown = !Number.isFinite(ttlMs) ? String(ttlMs) : ttlMs > 0 ? formatDuration(Math.round(ttlMs)) : `${ttlMs}ms`;
    throw new JoinTokenStoreError(
      'WEFT_TOKEN_TTL_INVALID',
      `invalid join token ttl ${shown}: it must be more than 0s and at most ${formatDuration(MAX_JOIN_TOKEN_TTL_MS)}`,
    );
  }
  // Throws SpiffeIdError (WEFT_SPIFFE_ID_INVALID / WEFT_TRUST_DOMAIN_INVALID) naming the bad part.
  const spiffeId = workloadSpiffeId(opts.trustDomain, opts.namespace, opts.serviceAccount).text;
  refuseReservedIdentity(spiffeId, opts.trustDomain, opts.adminIdentities ?? []);
  return { spiffeId, ttlMs, once: opts.once ?? false };
}

/**
 * Builds and signs a join token at `nowMs`. Expiry is rounded up to a whole second, so the token
 * lives at least `ttlMs`, and the record's `expiresAt` is exactly the signed `exp`.
 *
 * @throws TypeError, SpiffeIdError, JoinTokenStoreError `WEFT_TOKEN_TTL_INVALID`
 */
/**
 * A fresh token id. One in 64 base64url ids starts with "-", which a shell command line reads as
 * a flag (`weft token revoke -x...`): such a draw is thrown away.
 */
function tokenId(): string {
  let id = randomBytes(16).toString('base64url');
  for (let i = 0; i < 64 && id.startsWith('-'); i++) id = randomBytes(16).toString('base64url');
  return id.startsWith('-') ? `_${id.slice(1)}` : id;
}

export function buildJoinToken(opts: CreateJoinTokenOptions, nowMs: number, key: TokenSigningKey): { created: CreatedJoinToken; record: StoredJoinToken } {
  const { spiffeId, ttlMs, once } = checkOptions(opts);
  const id = tokenId();
  const iat = Math.floor(nowMs / 1000);
  const exp = Math.ceil((nowMs + ttlMs) / 1000);
  const claims: JoinTokenClaims = { iss: `spiffe://${opts.trustDomain}`, sub: spiffeId, jti: id, iat, exp, once, ca: opts.caFingerprint };
  const token = encodeJoinToken(claims, key);
  return {
    created: { token, id, spiffeId, expiresAt: new Date(exp * 1000), once },
    record: { id, spiffeId, caFingerprint: opts.caFingerprint, createdAt: nowMs, expiresAt: exp * 1000, once },
  };
}

/** Checks create options without a key, so bad input is refused before a key or file is made. */
export function checkJoinTokenOptions(opts: CreateJoinTokenOptions): void {
  checkOptions(opts);
}

/**
 * Refuses a join token for a reserved identity (identity/reserved-identities.ts): at creation, and
 * again when a workload presents one, with the MeshConfig in force then.
 *
 * @throws ReservedIdentityError WEFT_TOKEN_RESERVED_IDENTITY
 */
export function refuseReservedIdentity(spiffeId: string, trustDomain: string, adminIdentities: readonly string[]): void {
  const reason = reservedIdentityReason(spiffeId, trustDomain, adminIdentities);
  if (reason !== undefined) throw new ReservedIdentityError(spiffeId, `no join token may claim ${reason}; issue it with \`weft ca mint --allow-privileged-identity\` if that is really meant`);
}
