// Inbound stage 2, between the peer's identity and the app: path normalization and
// AuthorizationPolicy, with the snapshot's compiled policies. A refused request is answered here
// (400 for a path Envoy would refuse, 403 `RBAC: access denied`) and never reaches the app; the
// log line names the deciding policy, rule and condition.
import type { IncomingHttpHeaders } from 'node:http2';
import { evaluate, explainDecision, normalizePath, type CompiledPolicies, type JwtAttributes, type PathNormalization, type RequestAttributes } from '../../policy/index.js';
import { authenticateRequest, parseCookies, parseQueryParams, removeQueryParams, type CompiledJwtAuthenticator, type JwtKeyResolver } from '../../policy/jwt/index.js';
import type { Logger } from '../../telemetry/logger.js';
import type { ProxyStats } from '../stats.js';

/** The policy in force for the inbound side, swapped whole when a snapshot is accepted. */
export interface InboundPolicy {
  readonly compiled: CompiledPolicies;
  readonly normalization: PathNormalization;
  /** PeerAuthentication puts the app port in PERMISSIVE or DISABLE: plaintext clients are served. */
  readonly acceptPlaintext: boolean;
  /** RequestAuthentication: the jwtRules that select the workload, the key resolver and the clock. */
  readonly jwt?: { readonly authn: CompiledJwtAuthenticator; readonly resolver: JwtKeyResolver; readonly now: () => number };
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
      /** The normalized request target, when it differs from the one sent. */
      readonly target?: string;
      /** The request headers to send on, when RequestAuthentication changed them. */
      readonly headers?: IncomingHttpHeaders;
    }
  | { readonly allow: false; readonly status: 400 | 401 | 403; readonly body: string };

const DENIED: InboundVerdict = { allow: false, status: 403, body: 'RBAC: access denied' };

/**
 * Path normalization, then RequestAuthentication (when jwtRules select the workload: asynchronous,
 * keys may have to be fetched), then AuthorizationPolicy. Without jwtRules the answer is
 * synchronous, so the common path awaits nothing.
 */
export function authorizeRequest(
  policy: InboundPolicy,
  headers: IncomingHttpHeaders,
  conn: InboundConnectionFacts,
  appPort: number,
  stats: ProxyStats,
  logger: Logger,
): InboundVerdict | Promise<InboundVerdict> {
  const raw = headers[':path'] ?? '/';
  const normalized = normalizePath(raw, policy.normalization);
  if (!normalized.ok) {
    stats.inbound_requests_bad_path_total++;
    logger.log('info', 'inbound.path.refused', { peer: conn.peerSpiffeId, path: raw.slice(0, 200), reason: normalized.reason });
    return { allow: false, status: 400, body: `bad request path: ${normalized.reason}` };
  }
  const jwt = policy.jwt;
  if (jwt === undefined || (jwt.authn.rules.length === 0 && jwt.authn.protectedHeaders.length === 0)) {
    return authorizeNormalized(policy, headers, normalized.path, normalized.target === raw ? undefined : normalized.target, undefined, conn, appPort, stats, logger, undefined);
  }
  return authenticate(jwt, headers, normalized.target).then((authn) => {
    if (authn.kind === 'invalid') {
      stats.inbound_requests_jwt_refused_total++;
      logger.log('info', 'inbound.jwt.refused', { peer: conn.peerSpiffeId ?? null, path: normalized.path, reason: authn.reason, code: authn.code, rule: authn.rule ?? null });
      return { allow: false, status: authn.status, body: `Jwt verification fails: ${authn.reason}` } as const;
    }
    return authorizeNormalized(policy, authn.headers, normalized.path, authn.target === raw ? undefined : authn.target, authn.attributes, conn, appPort, stats, logger, authn.headers);
  });
}

/** Runs RequestAuthentication and applies what it asks of the request (token removed, claims added). */
async function authenticate(
  jwt: NonNullable<InboundPolicy['jwt']>,
  headers: IncomingHttpHeaders,
  target: string,
): Promise<{ kind: 'invalid'; status: 401 | 403; reason: string; code: string; rule?: unknown } | { kind: 'ok'; headers: IncomingHttpHeaders; target: string; attributes?: JwtAttributes }> {
  const cookieHeader = headers.cookie;
  const result = await authenticateRequest(
    jwt.authn,
    { headers: headers as Record<string, string | string[] | undefined>, params: parseQueryParams(target), cookies: flatCookies(parseCookies(cookieHeader)) },
    jwt.resolver,
    jwt.now(),
  );
  if (result.kind === 'invalid') return { kind: 'invalid', status: result.status, reason: result.reason, code: result.code, ...(result.rule === undefined ? {} : { rule: result.rule }) };
  const out: IncomingHttpHeaders = { ...headers };
  for (const name of result.headersToRemove) delete out[name];
  if (result.kind === 'none') return { kind: 'ok', headers: out, target };
  for (const [name, value] of Object.entries(result.headersToAdd)) out[name] = value;
  if (result.cookiesToRemove.length > 0 && typeof cookieHeader === 'string') {
    const kept = cookieHeader.split(';').map((c) => c.trim()).filter((c) => c !== '' && !result.cookiesToRemove.includes(c.split('=')[0]!.trim()));
    if (kept.length > 0) out.cookie = kept.join('; ');
    else delete out.cookie;
  }
  const newTarget = result.paramsToRemove.length > 0 ? removeQueryParams(target, result.paramsToRemove) : target;
  out[':path'] = newTarget;
  const attributes: JwtAttributes = { principal: result.principal, audiences: result.audiences, ...(result.presenter === undefined ? {} : { presenter: result.presenter }), claims: result.claims };
  return { kind: 'ok', headers: out, target: newTarget, attributes };
}

function flatCookies(cookies: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cookies)) out[k] = Array.isArray(v) ? v[0]! : v;
  return out;
}

function authorizeNormalized(
  policy: InboundPolicy,
  headers: IncomingHttpHeaders,
  path: string,
  target: string | undefined,
  jwt: JwtAttributes | undefined,
  conn: InboundConnectionFacts,
  appPort: number,
  stats: ProxyStats,
  logger: Logger,
  /** Headers RequestAuthentication rewrote, to send on instead of the client's. */
  rewritten: IncomingHttpHeaders | undefined,
): InboundVerdict {
  const attributes: RequestAttributes = {
    protocol: 'http',
    ...connectionAttributes(conn),
    destinationPort: appPort,
    method: headers[':method'],
    host: headers[':authority'],
    path,
    headers: headers as RequestAttributes['headers'],
    ...(jwt === undefined ? {} : { jwt }),
  };
  if (!decide(policy, attributes, conn, logger)) {
    stats.inbound_requests_denied_total++;
    return DENIED;
  }
  return { allow: true, ...(target === undefined ? {} : { target }), ...(rewritten === undefined ? {} : { headers: rewritten }) };
}

/**
 * AuthorizationPolicy for a TCP connection a peer tunnelled in (no HTTP attributes, so HTTP-only
 * fields apply as Istio says: an ALLOW rule needing them never matches, a DENY rule denies).
 */
export function authorizeConnection(policy: InboundPolicy, conn: InboundConnectionFacts, appPort: number, logger: Logger): boolean {
  return decide(policy, { protocol: 'tcp', ...connectionAttributes(conn), destinationPort: appPort }, conn, logger);
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

/** Evaluates, logs AUDIT matches, dry-run verdicts and a denial with its explanation; true = allowed. */
function decide(policy: InboundPolicy, attributes: RequestAttributes, conn: InboundConnectionFacts, logger: Logger): boolean {
  const decision = evaluate(policy.compiled, attributes);
  const request = attributes.protocol === 'tcp' ? { protocol: 'tcp', port: attributes.destinationPort } : { method: attributes.method, path: attributes.path };
  for (const a of decision.auditMatches) logger.log('info', 'inbound.audit', { peer: conn.peerSpiffeId, ...request, policy: `${a.policy.namespace}/${a.policy.name}`, rule: a.ruleIndex });
  for (const d of decision.dryRun) {
    logger.log('info', 'inbound.dry_run', { peer: conn.peerSpiffeId, ...request, wouldBe: d.allow ? 'allow' : 'deny', action: d.action, policy: d.policy === undefined ? null : `${d.policy.namespace}/${d.policy.name}`, rule: d.ruleIndex ?? null });
  }
  if (!decision.allow) logger.log('info', 'inbound.denied', { peer: conn.peerSpiffeId ?? null, ...request, explanation: explainDecision(decision) });
  return decision.allow;
}
