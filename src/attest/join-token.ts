// The join-token format: a compact JWS (ES256) whose header is
//   {"alg":"ES256","typ":"weft-join+jwt","kid":<RFC 7638 thumbprint of the token-signing key>}
// and whose claims are
//   {"iss":"spiffe://<td>","sub":"spiffe://<td>/ns/<ns>/sa/<sa>","jti":<128-bit id, base64url>,
//    "iat":<s>,"exp":<s>,"once":<bool>,"ca":"sha256:<hex of the root certificate's DER>"}
// The explicit `typ` keeps a join token from being mistaken for any other JWT (RFC 8725 §3.11).
import { parseSpiffeId, workloadOf, type SpiffeId } from '../identity/spiffe-id.js';
import { parseCompactJws, signCompactEs256, type CompactJws } from './compact-jws.js';
import { JoinTokenError } from './errors.js';
import type { TokenSigningKey } from './signing-key.js';

/** The JWS `typ` of a join token. */
export const JOIN_TOKEN_TYPE = 'weft-join+jwt';
/** The only signature algorithm a join token may carry. */
export const JOIN_TOKEN_ALG = 'ES256';
/** A CA fingerprint as the token pins it: SHA-256 of the root certificate's DER. */
export const CA_FINGERPRINT_PATTERN = /^sha256:[0-9a-f]{64}$/;
/** A token id: 128 random bits in base64url (22 characters). */
export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** The claims of a join token. */
export interface JoinTokenClaims {
  /** `spiffe://<trust domain>`, the trust domain's own ID. */
  readonly iss: string;
  /** The workload SPIFFE ID the token lets its bearer claim. */
  readonly sub: string;
  /** The token id, also the key of its record in the store. */
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  /** True for a single-use token (`weft token create --once`). */
  readonly once: boolean;
  /** The pinned CA fingerprint, 'sha256:<64 lowercase hex>'. */
  readonly ca: string;
}

/** A join token split and checked for shape, but not verified. */
export interface ParsedJoinToken {
  readonly jws: CompactJws;
  readonly claims: JoinTokenClaims;
  readonly spiffeId: SpiffeId;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** What a workload can read from its join token before anything is verified. */
export interface DecodedJoinToken {
  readonly tokenId: string;
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The fingerprint of the CA root to pin on first contact. */
  readonly caFingerprint: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly once: boolean;
}

function badClaim(tokenId: string | undefined, detail: string): never {
  const which = tokenId === undefined ? 'join token' : `join token ${tokenId}`;
  throw new JoinTokenError('WEFT_TOKEN_MALFORMED', 'claims', tokenId, `${which} is malformed: ${detail}`);
}

function isSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Splits a join token and checks the shape of its claims, without verifying the signature or the
 * header (verification judges `alg` as forgery, so it is left to the caller).
 *
 * @throws JoinTokenError `WEFT_TOKEN_MALFORMED`
 */
export function parseJoinToken(token: unknown): ParsedJoinToken {
  const jws = parseCompactJws(token);
  const p = jws.payload;
  if (typeof p.jti !== 'string' || !TOKEN_ID_PATTERN.test(p.jti)) badClaim(undefined, 'claim "jti" must be a 128-bit base64url id');
  const id = p.jti;
  if (typeof p.sub !== 'string') badClaim(id, 'claim "sub" must be a SPIFFE ID');
  let spiffeId: SpiffeId;
  try {
    spiffeId = parseSpiffeId(p.sub);
  } catch {
    badClaim(id, 'claim "sub" is not a valid SPIFFE ID');
  }
  const workload = workloadOf(spiffeId);
  if (workload === undefined) badClaim(id, 'claim "sub" is not a workload ID of the form spiffe://<td>/ns/<ns>/sa/<sa>');
  if (p.iss !== `spiffe://${spiffeId.trustDomain}`) badClaim(id, 'claim "iss" must be the trust domain ID of the subject');
  if (!isSeconds(p.iat)) badClaim(id, 'claim "iat" must be an integer number of seconds');
  if (!isSeconds(p.exp) || p.exp <= p.iat) badClaim(id, 'claim "exp" must be an integer number of seconds after "iat"');
  if (typeof p.once !== 'boolean') badClaim(id, 'claim "once" must be a boolean');
  if (typeof p.ca !== 'string' || !CA_FINGERPRINT_PATTERN.test(p.ca)) badClaim(id, 'claim "ca" must be a fingerprint sha256:<64 lowercase hex>');
  const claims: JoinTokenClaims = { iss: p.iss, sub: spiffeId.text, jti: id, iat: p.iat, exp: p.exp, once: p.once, ca: p.ca };
  return { jws, claims, spiffeId, namespace: workload.namespace, serviceAccount: workload.serviceAccount };
}

/**
 * Checks the protected header beyond `alg`: the join-token `typ`, a `kid`, and no `crit` (RFC 7515
 * §4.1.11: a recipient MUST reject a JWS with critical extensions it does not understand; weft
 * defines none).
 *
 * @throws JoinTokenError `WEFT_TOKEN_MALFORMED` (reason 'header')
 */
export function checkJoinTokenHeader(parsed: ParsedJoinToken): string {
  const h = parsed.jws.header;
  const id = parsed.claims.jti;
  const fail = (detail: string): never => {
    throw new JoinTokenError('WEFT_TOKEN_MALFORMED', 'header', id, `join token ${id} is malformed: ${detail}`);
  };
  if (h.typ !== JOIN_TOKEN_TYPE) fail(`header "typ" must be "${JOIN_TOKEN_TYPE}"`);
  if ('crit' in h || 'b64' in h) fail('header has critical extensions ("crit" or "b64"), which join tokens never use');
  if (typeof h.kid !== 'string' || h.kid.length === 0 || h.kid.length > 128) fail('header "kid" must name the token-signing key');
  return h.kid as string;
}

/**
 * Reads a join token WITHOUT verifying it: for the workload, which needs the pinned CA fingerprint
 * to authenticate the control plane before it can trust anything the control plane says. Nothing
 * read here is proof of anything; only `JoinTokenStore#verify` on the control plane is.
 *
 * @throws JoinTokenError `WEFT_TOKEN_MALFORMED` naming what is wrong (never echoing the token).
 * @example decodeJoinToken(text).caFingerprint // 'sha256:9f86d0…'
 */
export function decodeJoinToken(token: string): DecodedJoinToken {
  const parsed = parseJoinToken(token);
  checkJoinTokenHeader(parsed);
  const c = parsed.claims;
  return {
    tokenId: c.jti,
    spiffeId: c.sub,
    trustDomain: parsed.spiffeId.trustDomain,
    namespace: parsed.namespace,
    serviceAccount: parsed.serviceAccount,
    caFingerprint: c.ca,
    issuedAt: new Date(c.iat * 1000),
    expiresAt: new Date(c.exp * 1000),
    once: c.once,
  };
}

/** Signs `claims` into a join token with the data directory's token-signing key. */
export function encodeJoinToken(claims: JoinTokenClaims, key: TokenSigningKey): string {
  const header = { alg: JOIN_TOKEN_ALG, typ: JOIN_TOKEN_TYPE, kid: key.kid };
  return signCompactEs256(header, { ...claims }, key.privateKey);
}
