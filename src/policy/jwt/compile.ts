// Implements Istio RequestAuthentication selection and merging for a sidecar
// (security/v1/request_authentication.proto; pilot/pkg/security/authn/policy_applier.go): every
// RequestAuthentication in the root namespace or the workload's namespace whose selector matches
// the workload contributes its jwtRules; all of them are merged (no "oldest wins") and sorted by
// issuer. Policies with targetRef/targetRefs are for gateways and waypoints, so a sidecar skips them.
import type { JWTRule, RequestAuthentication } from '../../config/generated/types.js';
import { parseDuration } from '../../lib/duration.js';
import type { CompiledJwtAuthenticator, CompiledJwtRule, JwksSource, TokenLocation } from './types.js';
import { VerifiedTokenCache } from './verified-tokens.js';

/** The workload whose sidecar authenticates requests. */
export interface JwtWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Istio's JWKS fetch timeout when a rule sets none. */
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;

/** `Authorization: Bearer <token>`, then `?access_token=`, when a rule names no location. */
const DEFAULT_LOCATIONS: readonly TokenLocation[] = Object.freeze([
  Object.freeze({ kind: 'header', name: 'authorization', prefix: 'Bearer ' } as const),
  Object.freeze({ kind: 'param', name: 'access_token' } as const),
]);

/**
 * Compiles the RequestAuthentications that select `workload` into one authenticator. Inputs are
 * validated resources; the result is frozen and shared by every request until the next snapshot.
 *
 * @example
 * const authn = compileJwtRules(snapshot.requestAuthentications, { namespace: 'foo', labels: { app: 'httpbin' } }, 'istio-system');
 */
export function compileJwtRules(
  resources: readonly RequestAuthentication[],
  workload: JwtWorkload,
  rootNamespace: string,
): CompiledJwtAuthenticator {
  const rules: CompiledJwtRule[] = [];
  for (const ra of resources) {
    if (!selects(ra, workload, rootNamespace)) continue;
    (ra.spec.jwtRules ?? []).forEach((rule, index) => rules.push(compileRule(ra, rule, index)));
  }
  rules.sort(byIssuerThenOrigin);
  const locations = new Map<string, TokenLocation>();
  const protectedHeaders = new Set<string>();
  const keySources = new Map<string, JwksSource>();
  for (const r of rules) {
    for (const l of r.locations) if (!locations.has(locationKey(l))) locations.set(locationKey(l), l);
    if (r.outputPayloadToHeader !== undefined) protectedHeaders.add(r.outputPayloadToHeader);
    for (const c of r.outputClaimToHeaders) protectedHeaders.add(c.header);
    keySources.set(jwksSourceKey(r.keys), r.keys);
  }
  return Object.freeze({
    rules: Object.freeze(rules),
    locations: Object.freeze([...locations.values()]),
    protectedHeaders: Object.freeze([...protectedHeaders]),
    keySources: Object.freeze([...keySources.values()]),
    verified: new VerifiedTokenCache(),
  });
}

/** A stable cache key for a key source: equal sources share one cached set. */
export function jwksSourceKey(source: JwksSource): string {
  switch (source.kind) {
    case 'inline':
      return `inline:${source.jwks}`;
    case 'uri':
      return `uri:${source.uri}`;
    case 'discovery':
      return `discovery:${source.issuer}`;
  }
}

/** `header authorization`, `param access_token`, `cookie session`: for logs and results. */
export function describeLocation(l: TokenLocation): string {
  return `${l.kind} ${l.name}`;
}

function locationKey(l: TokenLocation): string {
  return l.kind === 'header' ? `header\0${l.name}\0${l.prefix}` : `${l.kind}\0${l.name}`;
}

function selects(ra: RequestAuthentication, workload: JwtWorkload, rootNamespace: string): boolean {
  const spec = ra.spec;
  if (spec.targetRef !== undefined || (spec.targetRefs !== undefined && spec.targetRefs.length > 0)) return false;
  const ns = ra.metadata.namespace;
  if (ns !== rootNamespace && ns !== workload.namespace) return false;
  for (const [k, v] of Object.entries(spec.selector?.matchLabels ?? {})) if (workload.labels[k] !== v) return false;
  return true;
}

function compileRule(ra: RequestAuthentication, rule: JWTRule, index: number): CompiledJwtRule {
  const timeoutMs = rule.timeout === undefined ? DEFAULT_JWKS_TIMEOUT_MS : parseDuration(rule.timeout);
  const keys: JwksSource =
    rule.jwks !== undefined && rule.jwks !== ''
      ? { kind: 'inline', jwks: rule.jwks }
      : rule.jwksUri !== undefined && rule.jwksUri !== ''
        ? { kind: 'uri', uri: rule.jwksUri, timeoutMs }
        : { kind: 'discovery', issuer: rule.issuer, timeoutMs };
  return Object.freeze({
    ref: Object.freeze({ namespace: ra.metadata.namespace, name: ra.metadata.name, index, issuer: rule.issuer }),
    issuer: rule.issuer,
    audiences: Object.freeze([...(rule.audiences ?? [])]),
    locations: compileLocations(rule),
    keys: Object.freeze(keys),
    ...(rule.outputPayloadToHeader === undefined || rule.outputPayloadToHeader === ''
      ? {}
      : { outputPayloadToHeader: rule.outputPayloadToHeader.toLowerCase() }),
    outputClaimToHeaders: Object.freeze(
      (rule.outputClaimToHeaders ?? []).map((c) => Object.freeze({ header: c.header.toLowerCase(), claim: c.claim })),
    ),
    forwardOriginalToken: rule.forwardOriginalToken === true,
  });
}

function compileLocations(rule: JWTRule): readonly TokenLocation[] {
  const headers = rule.fromHeaders ?? [];
  const params = rule.fromParams ?? [];
  const cookies = rule.fromCookies ?? [];
  if (headers.length === 0 && params.length === 0 && cookies.length === 0) return DEFAULT_LOCATIONS;
  const out: TokenLocation[] = [
    ...headers.map((h) => ({ kind: 'header', name: h.name.toLowerCase(), prefix: h.prefix ?? '' }) as const),
    ...params.map((name) => ({ kind: 'param', name }) as const),
    ...cookies.map((name) => ({ kind: 'cookie', name }) as const),
  ];
  return Object.freeze(out.map((l) => Object.freeze(l)));
}

function byIssuerThenOrigin(a: CompiledJwtRule, b: CompiledJwtRule): number {
  return (
    compare(a.issuer, b.issuer) ||
    compare(a.ref.namespace, b.ref.namespace) ||
    compare(a.ref.name, b.ref.name) ||
    a.ref.index - b.ref.index
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
