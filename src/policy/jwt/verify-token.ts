// Verifies one token against the jwtRules of its issuer (Envoy jwt_authn as Istio configures it):
// the token's `iss` picks the rules; with several rules for one issuer, any that accepts the token
// is enough (Istio's "verify-policies-are-combined"). Signatures are checked with jose, only with
// asymmetric algorithms and only with keys made for the token's algorithm.
import { decodeJwt, decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import type { JwtRefusalCode } from './errors.js';
import { isAcceptedAlgorithm } from './key-set.js';
import type { CompiledJwtRule, JwtKeyResolver, JwtRuleRef } from './types.js';
import type { VerifiedTokenCache } from './verified-tokens.js';

/** Envoy's default `clock_skew_seconds`, which Istio keeps: exp and nbf are checked with 60 s of slack. */
export const JWT_CLOCK_SKEW_SECONDS = 60;

/** Tokens longer than this are refused unread (a guard against decoding huge headers). */
export const MAX_TOKEN_LENGTH = 64 * 1024;

export type TokenVerdict =
  | { readonly ok: true; readonly rule: CompiledJwtRule; readonly payload: JWTPayload; readonly payloadSegment: string; readonly key?: CryptoKey }
  | { readonly ok: false; readonly code: JwtRefusalCode; readonly reason: string; readonly rule?: JwtRuleRef };

/**
 * Checks `token` against `rules` (the rules whose locations include where it was found) at time
 * `now`. Never throws for a bad token: every failure is a verdict with its own code.
 */
export async function verifyToken(
  token: string,
  rules: readonly CompiledJwtRule[],
  resolver: JwtKeyResolver,
  now: Date,
  cache?: VerifiedTokenCache,
): Promise<TokenVerdict> {
  const hit = cache?.get(token);
  if (hit !== undefined && rules.includes(hit.rule)) {
    const lookup = await resolver.lookup(hit.rule.keys, hit.alg, hit.kid);
    if (lookup.kind === 'keys' && lookup.keys.includes(hit.key)) {
      // Signature, issuer and audience cannot have changed for these exact bytes; time can.
      const late = timeRefusal(hit.payload, now);
      return late === undefined ? { ok: true, rule: hit.rule, payload: hit.payload, payloadSegment: hit.payloadSegment } : refuse(late[0], late[1], hit.rule.ref);
    }
  }
  const decoded = decode(token);
  if ('code' in decoded) return decoded;
  const { alg, kid, iss } = decoded;
  const candidates = rules.filter((r) => r.issuer === iss);
  if (candidates.length === 0) return refuse('WEFT_JWT_UNKNOWN_ISSUER', 'issuer not configured');
  let first: TokenVerdict | undefined;
  for (const rule of candidates) {
    const verdict = await verifyWithRule(token, rule, alg, kid, resolver, now);
    if (verdict.ok && verdict.key !== undefined) cache?.set(token, { rule, alg, kid, key: verdict.key, payload: verdict.payload, payloadSegment: verdict.payloadSegment });
    if (verdict.ok) return verdict;
    first ??= verdict;
  }
  return first!;
}

interface Decoded {
  readonly alg: string;
  readonly kid: string | undefined;
  readonly iss: string | undefined;
}

function decode(token: string): Decoded | Extract<TokenVerdict, { ok: false }> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return refuse('WEFT_JWT_MALFORMED', 'malformed token');
  let header: Record<string, unknown>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    payload = decodeJwt(token);
  } catch {
    return refuse('WEFT_JWT_MALFORMED', 'malformed token');
  }
  if (token.split('.').length !== 3) return refuse('WEFT_JWT_MALFORMED', 'malformed token');
  const alg = header.alg;
  if (typeof alg !== 'string') return refuse('WEFT_JWT_MALFORMED', 'malformed token');
  // RFC 8725 §2.1: an unsecured token must never be accepted where a signed one is expected.
  if (alg.toLowerCase() === 'none') return refuse('WEFT_JWT_ALG_NONE', 'unsigned token (alg none)');
  // The HMAC confusion attack signs with the issuer's public key as the secret; no JWKS key is symmetric.
  if (/^HS\d+$/i.test(alg)) return refuse('WEFT_JWT_ALG_NOT_ALLOWED', 'hmac algorithm not allowed');
  if (!isAcceptedAlgorithm(alg)) return refuse('WEFT_JWT_ALG_NOT_ALLOWED', 'algorithm not allowed');
  if (header.kid !== undefined && typeof header.kid !== 'string') return refuse('WEFT_JWT_MALFORMED', 'malformed token');
  if (payload.iss !== undefined && typeof payload.iss !== 'string') return refuse('WEFT_JWT_MALFORMED', 'malformed token');
  return { alg, kid: header.kid, iss: payload.iss };
}

async function verifyWithRule(
  token: string,
  rule: CompiledJwtRule,
  alg: string,
  kid: string | undefined,
  resolver: JwtKeyResolver,
  now: Date,
): Promise<TokenVerdict> {
  const lookup = await resolver.lookup(rule.keys, alg, kid);
  if (lookup.kind === 'unavailable') return refuse('WEFT_JWT_KEYS_UNAVAILABLE', 'jwks unavailable', rule.ref);
  if (lookup.kind === 'no-match' || lookup.keys.length === 0) {
    return refuse('WEFT_JWT_UNKNOWN_KID', kid === undefined ? 'no key for algorithm' : 'unknown kid', rule.ref);
  }
  for (const key of lookup.keys) {
    const verdict = await verifyWithKey(token, key, rule, alg, now);
    // Without a kid several keys may fit; only a signature mismatch moves on to the next one.
    if (verdict.ok || verdict.code !== 'WEFT_JWT_BAD_SIGNATURE') return verdict;
  }
  return refuse('WEFT_JWT_BAD_SIGNATURE', 'bad signature', rule.ref);
}

async function verifyWithKey(token: string, key: CryptoKey, rule: CompiledJwtRule, alg: string, now: Date): Promise<TokenVerdict> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: rule.issuer,
      ...(rule.audiences.length === 0 ? {} : { audience: rule.audiences as string[] }),
      clockTolerance: JWT_CLOCK_SKEW_SECONDS,
      currentDate: now,
    });
    return { ok: true, rule, payload, payloadSegment: token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')), key };
  } catch (err) {
    const [code, reason] = classify(err);
    return refuse(code, reason, rule.ref);
  }
}

/** jose's exp and nbf checks (with the same skew), for a token whose other claims already passed. */
function timeRefusal(payload: JWTPayload, now: Date): [JwtRefusalCode, string] | undefined {
  const seconds = Math.floor(now.getTime() / 1000);
  if (typeof payload.exp === 'number' && payload.exp <= seconds - JWT_CLOCK_SKEW_SECONDS) return ['WEFT_JWT_EXPIRED', 'token expired'];
  if (typeof payload.nbf === 'number' && payload.nbf > seconds + JWT_CLOCK_SKEW_SECONDS) return ['WEFT_JWT_NOT_YET_VALID', 'token not yet valid'];
  return undefined;
}

function classify(err: unknown): [JwtRefusalCode, string] {
  const e = err as { code?: string; claim?: string; reason?: string };
  switch (e.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return ['WEFT_JWT_BAD_SIGNATURE', 'bad signature'];
    case 'ERR_JWT_EXPIRED':
      return e.reason === 'invalid' ? ['WEFT_JWT_MALFORMED', 'malformed claims'] : ['WEFT_JWT_EXPIRED', 'token expired'];
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'invalid') return ['WEFT_JWT_MALFORMED', 'malformed claims'];
      if (e.claim === 'nbf') return ['WEFT_JWT_NOT_YET_VALID', 'token not yet valid'];
      if (e.claim === 'aud') return ['WEFT_JWT_AUDIENCE', 'audience not allowed'];
      if (e.claim === 'iss') return ['WEFT_JWT_UNKNOWN_ISSUER', 'issuer not configured'];
      return ['WEFT_JWT_MALFORMED', 'malformed claims'];
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return ['WEFT_JWT_ALG_NOT_ALLOWED', 'algorithm not allowed'];
    case 'ERR_JOSE_NOT_SUPPORTED': // a `crit` extension weft does not understand (RFC 7515 §4.1.11)
      return ['WEFT_JWT_MALFORMED', 'unsupported critical header'];
    default:
      return ['WEFT_JWT_MALFORMED', 'malformed token'];
  }
}

function refuse(code: JwtRefusalCode, reason: string, rule?: JwtRuleRef): Extract<TokenVerdict, { ok: false }> {
  return rule === undefined ? { ok: false, code, reason } : { ok: false, code, reason, rule };
}
