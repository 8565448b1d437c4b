// `weft authz check`: what the sidecars of a service would decide for one described request,
// evaluated by the same policy engine the sidecars run, over the live configuration.
import { defaultMeshConfigSpec, type MeshConfig, type StoredResource } from '../../config/index.js';
import { compilePolicies, decidedHeaderView, decisionToJson, evaluate, explainDecision, explainMtls, isSidecarOwnedHeader, normalizePath, resolveMtlsMode, type CompiledPolicies, type RequestAttributes } from '../../policy/index.js';
import type { Workload } from '../../registry/index.js';
import { scopeResources } from '../discovery/scope.js';
import { AdminError } from './errors.js';

export interface AuthzCheckRequest {
  readonly to: string;
  readonly port?: number;
  readonly fromPrincipal?: string;
  readonly fromPlaintext?: boolean;
  readonly sourceIp?: string;
  readonly jwt?: string;
  readonly method: string;
  readonly path: string;
  /** A header sent more than once is the list of its values. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
}

function str(v: unknown, field: string, required = true): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `${field} must be a non-empty string`);
  return v;
}

export function parseAuthzCheck(body: Record<string, unknown>): AuthzCheckRequest {
  const headers = body.headers;
  const isValue = (v: unknown): boolean => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));
  if (headers !== undefined && (headers === null || typeof headers !== 'object' || Array.isArray(headers) || !Object.values(headers).every(isValue))) {
    throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'headers must map names to a string or a non-empty list of strings');
  }
  const port = body.port;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'port must be 1-65535');
  if ((body.fromPrincipal === undefined) === (body.fromPlaintext !== true)) throw new AdminError('WEFT_ADMIN_BAD_REQUEST', 'give exactly one of fromPrincipal or fromPlaintext');
  return {
    to: str(body.to, 'to')!,
    ...(port === undefined ? {} : { port }),
    ...(body.fromPrincipal === undefined ? { fromPlaintext: true } : { fromPrincipal: str(body.fromPrincipal, 'fromPrincipal')! }),
    ...(body.sourceIp === undefined ? {} : { sourceIp: str(body.sourceIp, 'sourceIp')! }),
    ...(body.jwt === undefined ? {} : { jwt: str(body.jwt, 'jwt')! }),
    method: str(body.method, 'method')!,
    path: str(body.path, 'path')!,
    ...(headers === undefined ? {} : { headers: Object.fromEntries(Object.entries(headers as Record<string, string | string[]>).map(([k, v]) => [k.toLowerCase(), v])) }),
  };
}

/** The RequestAuthentication output header names for the workload: headers its sidecar owns. */
function jwtOutputs(compiled: CompiledPolicies): string[] {
  const out: string[] = [];
  for (const ra of compiled.requestAuthentications) {
    for (const rule of ra.spec.jwtRules ?? []) {
      if (rule.outputPayloadToHeader) out.push(rule.outputPayloadToHeader.toLowerCase());
      for (const c of rule.outputClaimToHeaders ?? []) out.push(c.header.toLowerCase());
    }
  }
  return out;
}

/**
 * The described headers as the sidecar's policy would see them: the ones the sidecar owns are
 * dropped (listed in `ignored`), as the proxy drops a client's copies. The sidecar's own
 * x-forwarded-client-cert carries the peer certificate's hash, which a described request has not.
 */
function describedHeaders(headers: Readonly<Record<string, string | readonly string[]>>, compiled: CompiledPolicies): { fields: Record<string, string | readonly string[]>; ignored: string[] } {
  const outputs = jwtOutputs(compiled);
  const fields: Record<string, string | readonly string[]> = Object.create(null) as Record<string, string | readonly string[]>;
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'host' || name.startsWith(':')) ignored.push(name);
    else if (isSidecarOwnedHeader(name, outputs)) ignored.push(name);
    else fields[name] = value;
  }
  return { fields, ignored };
}

/** The claims of a JWT, read without verification: the check describes what a valid token would get. */
function unverifiedClaims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  try {
    const claims = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('not an object');
    return claims as Record<string, unknown>;
  } catch (err) {
    throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `--jwt is not a JWT with a JSON payload: ${(err as Error).message}`);
  }
}

export function authzCheck(req: AuthzCheckRequest, resources: readonly StoredResource[], workloads: readonly Workload[]): unknown {
  const [service, namespace, ...rest] = req.to.split('.');
  if (!service || !namespace || (rest.length > 0 && rest.join('.') !== 'svc.cluster.local')) {
    throw new AdminError('WEFT_ADMIN_BAD_REQUEST', `--to must be SERVICE.NAMESPACE, not ${JSON.stringify(req.to)}`);
  }
  const targets = workloads.filter((w) => w.namespace === namespace && w.services.includes(service));
  if (targets.length === 0) throw new AdminError('WEFT_ADMIN_NOT_FOUND', `no registered workload serves ${service}.${namespace}`);
  const meshResource = resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig' && r.metadata.name === 'default');
  const mesh = meshResource?.spec ?? defaultMeshConfigSpec();
  const normalized = normalizePath(req.path, mesh.pathNormalization.normalization);
  if (!normalized.ok) return { to: req.to, rejected: { status: 400, reason: normalized.reason } };
  const claims = req.jwt === undefined ? undefined : unverifiedClaims(req.jwt);
  const principal = req.fromPrincipal?.replace(/^spiffe:\/\//, '');
  // Workloads with the same labels decide alike: one answer per distinct label set.
  const seen = new Map<string, unknown>();
  for (const w of targets) {
    const labelKey = JSON.stringify(Object.entries(w.labels).sort());
    if (seen.has(labelKey)) continue;
    const port = req.port ?? w.ports[0]?.port ?? 80;
    const compiled = compilePolicies({ mesh, workload: { namespace: w.namespace, labels: w.labels }, resources: scopeResources(resources, w) });
    const host = `${service}.${namespace}:${port}`;
    const method = req.method.toUpperCase();
    const { fields, ignored } = describedHeaders(req.headers ?? {}, compiled);
    const attributes: RequestAttributes = {
      protocol: 'http',
      ...(principal === undefined ? {} : { sourcePrincipal: principal }),
      ...(req.sourceIp === undefined ? {} : { sourceIp: req.sourceIp, remoteIp: req.sourceIp }),
      destinationPort: port,
      method,
      host,
      path: normalized.path,
      headers: decidedHeaderView(fields, method, normalized.target, host),
      ...(claims === undefined
        ? {}
        : {
            jwt: {
              principal: `${String(claims.iss)}/${String(claims.sub)}`,
              audiences: Array.isArray(claims.aud) ? (claims.aud as string[]) : typeof claims.aud === 'string' ? [claims.aud] : [],
              ...(typeof claims.azp === 'string' ? { presenter: claims.azp } : {}),
              claims,
            },
          }),
    };
    const mtls = resolveMtlsMode(compiled, port);
    const plaintextRefused = req.fromPlaintext === true && mtls.mode === 'STRICT';
    const decision = evaluate(compiled, attributes);
    seen.set(labelKey, {
      labels: w.labels,
      mtls: explainMtls(port, mtls),
      ...(plaintextRefused ? { refusedAtConnection: 'mTLS mode STRICT: a plaintext connection is refused before any request' } : {}),
      ...(ignored.length === 0 ? {} : { ignoredHeaders: ignored }),
      decision: plaintextRefused ? 'deny' : decision.allow ? 'allow' : 'deny',
      authorization: decisionToJson(decision),
      explanation: explainDecision(decision),
    });
  }
  return { to: `${service}.${namespace}`, path: normalized.path, jwtVerified: claims === undefined ? null : false, workloads: [...seen.values()] };
}
