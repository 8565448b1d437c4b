// Builders for policy-engine tests: resources in their stored form, from YAML (validated exactly
// as `weft apply` does) or from plain objects (to reach inputs validation would refuse).
import { deepFreeze } from '../../config/freeze.js';
import type { AuthorizationPolicy, AuthorizationPolicySpec, MeshConfigSpec, PeerAuthentication, PeerAuthenticationSpec, Resource } from '../../config/generated/types.js';
import { defaultMeshConfigSpec, type StoredResource } from '../../config/stored.js';
import { formatIssue } from '../../config/issue.js';
import { parseResources } from '../../config/validate.js';
import type { RequestAttributes } from '../attributes.js';
import { compilePolicies, type CompiledPolicies } from '../compile.js';
import { evaluate, type Decision } from '../evaluate.js';
import type { Workload } from '../select-workload.js';

let counter = 0;

/** Adds the metadata a store sets; creation times increase with each call unless given. */
export function stored<R extends Resource>(r: R, creationTimestamp?: string): StoredResource<R> {
  counter++;
  const ts = creationTimestamp ?? new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString();
  return deepFreeze({ ...r, metadata: { ...r.metadata, resourceVersion: String(counter), creationTimestamp: ts, generation: 1 } }) as StoredResource<R>;
}

/** Parses YAML documents as `weft apply` does (throws on any validation issue) and stores them. */
export function fromYaml(yaml: string): StoredResource[] {
  const parsed = parseResources(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join('\n'));
  return parsed.value.map((r) => stored(r));
}

/** An AuthorizationPolicy from a plain spec, not validated (for fail-closed tests). */
export function authz(namespace: string, name: string, spec: AuthorizationPolicySpec, annotations?: Record<string, string>): StoredResource<AuthorizationPolicy> {
  return stored({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace, ...(annotations === undefined ? {} : { annotations }) },
    spec,
  });
}

export function peerAuthn(namespace: string, name: string, spec: PeerAuthenticationSpec, creationTimestamp?: string): StoredResource<PeerAuthentication> {
  return stored({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace }, spec }, creationTimestamp);
}

export function mesh(overrides: Partial<MeshConfigSpec> = {}): MeshConfigSpec {
  return { ...defaultMeshConfigSpec(), ...overrides };
}

/** The workload most tests protect: `app: httpbin` in namespace foo. */
export const HTTPBIN: Workload = { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' }, serviceAccount: 'httpbin' };

export function compile(resources: readonly StoredResource[], options: { mesh?: MeshConfigSpec; workload?: Workload } = {}): CompiledPolicies {
  return compilePolicies({ mesh: options.mesh ?? mesh(), workload: options.workload ?? HTTPBIN, resources });
}

/** A request from `sleep` in namespace foo over mTLS: GET / on port 8000. */
export function request(overrides: Partial<RequestAttributes> = {}): RequestAttributes {
  return {
    protocol: 'http',
    sourcePrincipal: 'cluster.local/ns/foo/sa/sleep',
    sourceNamespace: 'foo',
    sourceIp: '10.0.0.5',
    destinationIp: '10.0.0.9',
    destinationPort: 8000,
    method: 'GET',
    host: 'httpbin.foo:8000',
    path: '/',
    headers: {},
    ...overrides,
  };
}

/** The plaintext form of a request: no principal, no namespace. */
export function plaintext(overrides: Partial<RequestAttributes> = {}): RequestAttributes {
  const r: { -readonly [K in keyof RequestAttributes]: RequestAttributes[K] } = { ...request(overrides) };
  delete r.sourcePrincipal;
  delete r.sourceNamespace;
  return r;
}

/** Compiles YAML and decides one request. */
export function decideYaml(yaml: string, attributes: RequestAttributes, options: { mesh?: MeshConfigSpec; workload?: Workload } = {}): Decision {
  return evaluate(compile(yaml.trim() === '' ? [] : fromYaml(yaml), options), attributes);
}
