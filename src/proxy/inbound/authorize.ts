// Inbound stage 2, between the peer's identity and the app: path normalization, RequestAuthentication
// and AuthorizationPolicy, with the snapshot's compiled policies. A refused request is answered
// here (400 for a path Envoy would refuse, 401 for a bad token, 403 `RBAC: access denied`) and
// never reaches the app; the log line names the deciding policy, rule and condition. An allowed
// request comes back as the one InboundRequest the decision saw (normalized target, the token
// removed, the claim headers added), and that is what the app receives.
import type { ServerHttp2Stream } from 'node:http2';
import { decidedHeaderView, evaluate, explainDecision, normalizePath, type CompiledPolicies, type Decision, type JwtAttributes, type PathNormalization, type RequestAttributes } from '../../policy/index.js';
import { authenticateRequest, parseCookies, parseQueryParams, removeQueryParams, type CompiledJwtAuthenticator, type JwtKeyResolver } from '../../policy/jwt/index.js';
import type { Logger } from '../../telemetry/logger.js';
import { inboundDecidedChannel, type InboundDecidedMessage } from '../diagnostics.js';
import type { ProxyStats } from '../stats.js';
import type { InboundRequest } from './request.js';
import { checkCustom } from '../ext-authz/authorize-custom.js';
import { h2Downstream, type Downstream } from '../ext-authz/downstream.js';
import type { ExtAuthzProviders } from '../ext-authz/runtime.js';

/** The policy in force for the inbound side, swapped whole when a snapshot is accepted. */
export interface InboundPolicy {
  readonly compiled: CompiledPolicies;
  readonly normalization: PathNormalization;
  /** PeerAuthentication puts the app port in PERMISSIVE or DISABLE: plaintext clients are served. */
  readonly acceptPlaintext: boolean;
  /** RequestAuthentication: the jwtRules that select the workload, the key resolver and the clock. */
  readonly jwt?: { readonly authn: CompiledJwtAuthenticator; readonly resolver: JwtKeyResolver; readonly now: () => number };
  /** The ext_authz providers CUSTOM policies send requests to (absent: every CUSTOM selection fails closed). */
  readonly extAuthz?: ExtAuthzProviders;
}

/** What the proxy knows of the connection a request came on. */
export interface InboundConnectionFacts {
  readonly peerSpiffeId?: string;
  readonly sourceIp?: string;
  readonly destinationIp?: string;
  readonly sni?: string;
}

export type InboundVerdict =
  | {
      readonly allow: true;
      /** The request as decided: what the app receives. */
      readonly request: InboundRequest;
      /** Headers an ext_authz provider adds to the response the client receives (headersToDownstreamOnAllow). */
      readonly responseHeaders?: readonly (readonly [string, string])[];
    }
  | {
      readonly allow: false;
      readonly status: number;
      readonly body: string;
      /** Set when the answer was already written to the client (an ext_authz denial, with the provider's headers). */
      readonly answered?: boolean;
    };

const DENIED: InboundVerdict = { allow: false, status: 403, body: 'RBAC: access denied' };
const NO_OUTPUTS: readonly string[] = Object.freeze([]);

/** The RequestAuthentication output header names in force: headers the sidecar owns. */
export function jwtOutputsOf(policy: InboundPolicy | undefined): readonly string[] {
  return policy?.jwt?.authn.protectedHeaders ?? NO_OUTPUTS;
}

/**
 * Path normalization, then RequestAuthentication (when jwtRules select the workload: asynchronous,
 * keys may have to be fetched), then AuthorizationPolicy. Without jwtRules the answer is
 * synchronous, so the common path awaits nothing.
 */
export function authorizeRequest(
  policy: InboundPolicy,
  request: InboundRequest,
  conn: InboundConnectionFacts,
  appPort: number,
  stats: ProxyStats,
  logger: Logger,
  downstream?: ServerHttp2Stream | Downstream,
): InboundVerdict | Promise<InboundVerdict> {
  const down = downstream === undefined ? undefined : 'kind' in downstream && downstream.kind === 'downstream' ? downstream : h2Downstream(downstream as ServerHttp2Stream);
  const raw = request.target;
  const normalized = normalizePath(raw, policy.normalization);
  if (!normalized.ok) {
    stats.inbound_requests_bad_path_total++;
    logger.log('info', 'inbound.path.refused', { peer: conn.peerSpiffeId, path: raw.slice(0, 200), reason: normalized.reason });
    return { allow: false, status: 400, body: `bad request path: ${normalized.reason}` };
  }
  const decided = normalized.target === raw ? request : { ...request, target: normalized.target };
  const jwt = policy.jwt;
  if (jwt === undefined || (jwt.authn.rules.length === 0 && jwt.authn.protectedHeaders.length === 0)) {
    return authorizeDecided(policy, decided, normalized.path, undefined, conn, appPort, stats, logger, down);
  }
  return authenticate(jwt, decided).then((authn) => {
    if (authn.kind === 'invalid') {
      stats.inbound_requests_jwt_refused_total++;
      logger.log('info', 'inbound.jwt.refused', { peer: conn.peerSpiffeId ?? null, path: normalized.path, reason: authn.reason, code: authn.code, rule: authn.rule ?? null });
      return { allow: false, status: authn.status, body: `Jwt verification fails: ${authn.reason}` } as const;
    }
    return authorizeDecided(policy, authn.request, normalized.path, authn.attributes, conn, appPort, stats, logger, down);
  });
}

/** Runs RequestAuthentication and applies what it asks of the request (token removed, claims added). */
async function authenticate(
  jwt: NonNullable<InboundPolicy['jwt']>,
  request: InboundRequest,
): Promise<{ kind: 'invalid'; status: 401 | 403; reason: string; code: string; rule?: unknown } | { kind: 'ok'; request: InboundRequest; attributes?: JwtAttributes }> {
  const fields = request.fields;
  const cookieHeader = typeof fields.cookie === 'string' ? fields.cookie : undefined;
  const result = await authenticateRequest(
    jwt.authn,
    { headers: fields, params: parseQueryParams(request.target), cookies: flatCookies(parseCookies(cookieHeader)) },
    jwt.resolver,
    jwt.now(),
  );
  if (result.kind === 'invalid') return { kind: 'invalid', status: result.status, reason: result.reason, code: result.code, ...(result.rule === undefined ? {} : { rule: result.rule }) };
  // The output headers were never the client's (dropped when the request was read); only the
  // token's own locations can still be here.
  if (result.kind === 'none') return { kind: 'ok', request };
  const out: Record<string, string | readonly string[]> = { ...fields };
  for (const name of result.headersToRemove) delete out[name];
  for (const [name, value] of Object.entries(result.headersToAdd)) out[name] = value;
  if (result.cookiesToRemove.length > 0 && cookieHeader !== undefined) {
    const kept = cookieHeader.split(';').map((c) => c.trim()).filter((c) => c !== '' && !result.cookiesToRemove.includes(c.split('=')[0]!.trim()));
    if (kept.length > 0) out.cookie = kept.join('; ');
    else delete out.cookie;
  }
  const target = result.paramsToRemove.length > 0 ? removeQueryParams(request.target, result.paramsToRemove) : request.target;
  const attributes: JwtAttributes = { principal: result.principal, audiences: result.audiences, ...(result.presenter === undefined ? {} : { presenter: result.presenter }), claims: result.claims };
  return { kind: 'ok', request: { ...request, target, fields: out }, attributes };
}

function flatCookies(cookies: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cookies)) out[k] = Array.isArray(v) ? v[0]! : v;
  return out;
}

function authorizeDecided(
  policy: InboundPolicy,
  request: InboundRequest,
  path: string,
  jwt: JwtAttributes | undefined,
  conn: InboundConnectionFacts,
  appPort: number,
  stats: ProxyStats,
  logger: Logger,
  down: Downstream | undefined,
): InboundVerdict | Promise<InboundVerdict> {
  const attributes: RequestAttributes = {
    protocol: 'http',
    ...connectionAttributes(conn),
    destinationPort: appPort,
    method: request.method,
    host: request.authority,
    path,
    headers: decidedHeaderView(request.fields, request.method, request.target, request.authority),
    ...(jwt === undefined ? {} : { jwt }),
  };
  const decision = evaluate(policy.compiled, attributes);
  if (decision.custom !== undefined) {
    return checkCustom({ policy, decision, request, attributes, conn, appPort, down, logger }).then((c) => {
      report(c.decision, attributes, conn, logger);
      if (c.decision.allow) return { allow: true, request: c.request ?? request, ...(c.responseHeaders === undefined ? {} : { responseHeaders: c.responseHeaders }) };
      stats.inbound_requests_denied_total++;
      // The sidecar's own answer at the CUSTOM stage: counted as local_replies_uaex_total.
      if (c.verdict !== undefined) stats.countFlag('UAEX');
      return c.verdict ?? DENIED;
    });
  }
  if (!report(decision, attributes, conn, logger)) {
    stats.inbound_requests_denied_total++;
    return DENIED;
  }
  return { allow: true, request };
}

/**
 * AuthorizationPolicy for a TCP connection a peer tunnelled in (no HTTP attributes, so HTTP-only
 * fields apply as Istio says: an ALLOW rule needing them never matches, a DENY rule denies).
 */
export function authorizeConnection(policy: InboundPolicy, conn: InboundConnectionFacts, appPort: number, logger: Logger): boolean {
  const attributes: RequestAttributes = { protocol: 'tcp', ...connectionAttributes(conn), destinationPort: appPort };
  return report(evaluate(policy.compiled, attributes), attributes, conn, logger);
}

const attributesOf = new WeakMap<InboundConnectionFacts, Omit<RequestAttributes, 'protocol'>>();

/** The connection's part of a request's attributes, built once per connection. */
function connectionAttributes(conn: InboundConnectionFacts): Omit<RequestAttributes, 'protocol'> {
  let attributes = attributesOf.get(conn);
  if (attributes === undefined) attributesOf.set(conn, (attributes = buildConnectionAttributes(conn)));
  return attributes;
}

function buildConnectionAttributes(conn: InboundConnectionFacts): Omit<RequestAttributes, 'protocol'> {
  return {
    ...(conn.peerSpiffeId === undefined ? {} : { sourcePrincipal: conn.peerSpiffeId.replace(/^spiffe:\/\//, '') }),
    ...(conn.sourceIp === undefined ? {} : { sourceIp: conn.sourceIp, remoteIp: conn.sourceIp }),
    ...(conn.destinationIp === undefined ? {} : { destinationIp: conn.destinationIp }),
    ...(conn.sni === undefined ? {} : { sni: conn.sni }),
  };
}

/** Logs AUDIT matches, dry-run verdicts and a denial with its explanation; true = allowed. */
function report(decision: Decision, attributes: RequestAttributes, conn: InboundConnectionFacts, logger: Logger): boolean {
  if (inboundDecidedChannel.hasSubscribers) publishDecided(attributes, decision);
  const request = attributes.protocol === 'tcp' ? { protocol: 'tcp', port: attributes.destinationPort } : { method: attributes.method, path: attributes.path };
  for (const a of decision.auditMatches) logger.log('info', 'inbound.audit', { peer: conn.peerSpiffeId, ...request, policy: `${a.policy.namespace}/${a.policy.name}`, rule: a.ruleIndex });
  for (const d of decision.dryRun) {
    logger.log('info', 'inbound.dry_run', { peer: conn.peerSpiffeId, ...request, wouldBe: d.allow ? 'allow' : 'deny', action: d.action, policy: d.policy === undefined ? null : `${d.policy.namespace}/${d.policy.name}`, rule: d.ruleIndex ?? null });
  }
  if (!decision.allow) logger.log('info', 'inbound.denied', { peer: conn.peerSpiffeId ?? null, ...request, explanation: explainDecision(decision) });
  return decision.allow;
}

function publishDecided(attributes: RequestAttributes, decision: Decision): void {
  inboundDecidedChannel.publish({ attributes, allow: decision.allow } satisfies InboundDecidedMessage);
}
