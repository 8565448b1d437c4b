// Implements Istio RequestAuthentication for one request (security/v1/request_authentication.proto;
// Envoy jwt_authn "provider OR allow_missing" per issuer): no token -> no identity; every token
// present must verify against a rule of its issuer that reads the location it came from; one bad
// token refuses the request.
import type { JWTPayload } from 'jose';
import { describeLocation } from './compile.js';
import { extractTokens, type FoundToken } from './extract-tokens.js';
import { verifyToken } from './verify-token.js';
import type {
  CompiledJwtAuthenticator,
  CompiledJwtRule,
  JwtAuthenticated,
  JwtAuthnResult,
  JwtKeyResolver,
  JwtRequest,
  TokenLocation,
} from './types.js';

/**
 * Authenticates `request` with the workload's compiled rules at time `now` (ms since the epoch, or
 * a Date; the caller reads the clock). Never throws for anything the client sent.
 *
 * @example
 * const r = await authenticateRequest(authn, { headers }, resolver, clock.now());
 * if (r.kind === 'invalid') return respond(r.status, r.reason);
 */
export async function authenticateRequest(
  compiled: CompiledJwtAuthenticator,
  request: JwtRequest,
  resolver: JwtKeyResolver,
  now: number | Date,
): Promise<JwtAuthnResult> {
  const found = compiled.rules.length === 0 ? [] : extractTokens(request, compiled.locations);
  if (found.length === 0) return { kind: 'none', headersToRemove: compiled.protectedHeaders };
  const at = typeof now === 'number' ? new Date(now) : now;
  const verified: { rule: CompiledJwtRule; payload: JWTPayload; payloadSegment: string; found: FoundToken[] }[] = [];
  for (const [token, where] of groupByToken(found)) {
    const rules = compiled.rules.filter((r) => where.some((w) => readsLocation(r, w.location)));
    const verdict = await verifyToken(token, rules, resolver, at, compiled.verified);
    if (!verdict.ok) {
      return {
        kind: 'invalid',
        code: verdict.code,
        reason: verdict.reason,
        status: verdict.code === 'WEFT_JWT_AUDIENCE' ? 403 : 401,
        ...(verdict.rule === undefined ? {} : { rule: verdict.rule }),
        location: describeLocation(where[0]!.location),
      };
    }
    verified.push({ rule: verdict.rule, payload: verdict.payload, payloadSegment: verdict.payloadSegment, found: where });
  }
  return authenticated(compiled, verified);
}

function authenticated(
  compiled: CompiledJwtAuthenticator,
  verified: readonly { rule: CompiledJwtRule; payload: JWTPayload; payloadSegment: string; found: FoundToken[] }[],
): JwtAuthenticated {
  // With several tokens Istio leaves the principal undefined; weft takes the first one found.
  const { rule, payload } = verified[0]!;
  const headersToAdd: Record<string, string> = {};
  const headersToRemove = new Set(compiled.protectedHeaders);
  const paramsToRemove = new Set<string>();
  const cookiesToRemove = new Set<string>();
  for (const v of verified) {
    if (v.rule.outputPayloadToHeader !== undefined) headersToAdd[v.rule.outputPayloadToHeader] ??= v.payloadSegment;
    for (const c of v.rule.outputClaimToHeaders) {
      const value = claimHeaderValue(v.payload, c.claim);
      if (value !== undefined) headersToAdd[c.header] ??= value;
    }
    if (v.rule.forwardOriginalToken) continue;
    for (const { location } of v.found) {
      if (location.kind === 'header') headersToRemove.add(location.name);
      else if (location.kind === 'param') paramsToRemove.add(location.name);
      else cookiesToRemove.add(location.name);
    }
  }
  const iss = payload.iss!;
  const aud = payload.aud;
  return {
    kind: 'ok',
    principal: `${iss}/${typeof payload.sub === 'string' ? payload.sub : ''}`,
    issuer: iss,
    ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}),
    audiences: typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [],
    ...(typeof payload.azp === 'string' ? { presenter: payload.azp } : {}),
    claims: Object.freeze(payload),
    rule: rule.ref,
    headersToAdd,
    headersToRemove: [...headersToRemove],
    paramsToRemove: [...paramsToRemove],
    cookiesToRemove: [...cookiesToRemove],
  };
}

/**
 * The header value for `outputClaimToHeaders`: a string, number or boolean claim (nested with
 * `a.b.c`); anything else, or text a header cannot carry, gives no header.
 */
export function claimHeaderValue(payload: Readonly<Record<string, unknown>>, claim: string): string | undefined {
  let v: unknown = payload[claim];
  if (v === undefined && claim.includes('.')) {
    v = payload;
    for (const part of claim.split('.')) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex -- CR, LF, NUL and other controls would split or break the header
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(v) ? undefined : v;
}

function groupByToken(found: readonly FoundToken[]): Map<string, FoundToken[]> {
  const out = new Map<string, FoundToken[]>();
  for (const f of found) {
    const list = out.get(f.token);
    if (list === undefined) out.set(f.token, [f]);
    else list.push(f);
  }
  return out;
}

function readsLocation(rule: CompiledJwtRule, l: TokenLocation): boolean {
  return rule.locations.some((r) => r.kind === l.kind && r.name === l.name && (r.kind !== 'header' || l.kind !== 'header' || r.prefix === l.prefix));
}
