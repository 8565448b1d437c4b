// The configuration a sidecar has in force: the resources of its last accepted snapshot, checked
// and prepared before anything switches over. A snapshot that fails here is NACKed and changes
// nothing.
import type { MeshSnapshot } from '../api/control-plane-api.js';
import { decodeStoredResources, defaultMeshConfigSpec, type MeshConfig, type MeshConfigSpec, type StoredResource } from '../config/index.js';
import { compilePolicies, resolveMtlsMode } from '../policy/index.js';
import { compileJwtRules, type JwtKeyResolver } from '../policy/jwt/index.js';
import type { ExtAuthz, InboundPolicy, ProviderUse } from '../proxy/index.js';
import type { AuthorizationPolicy, RequestAuthentication } from '../config/index.js';
import type { CompiledPolicies } from '../policy/index.js';

export interface PreparedConfig {
  readonly version: number;
  readonly mesh: MeshConfigSpec;
  readonly resources: readonly StoredResource[];
  /** The authorization and path policy the inbound side enforces. */
  readonly inbound: InboundPolicy;
}

export interface WorkloadIdentity {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The port the application listens on: PeerAuthentication's portLevelMtls keys on it. */
  readonly appPort: number;
  /** Fetches and caches JWKS for RequestAuthentication; one per sidecar, shared by snapshots. */
  readonly keys?: { readonly resolver: JwtKeyResolver; readonly now: () => number };
  /** The sidecar's ext_authz clients and decision caches, kept across snapshots that leave a provider unchanged. */
  readonly extAuthz?: ExtAuthz;
}

/**
 * Validates a snapshot's resources and compiles them for this workload; throws (the reason of a
 * NACK) if any is unusable. Policies that cannot be compiled do not throw: they fail closed.
 */
export function prepareConfig(snapshot: MeshSnapshot, workload: WorkloadIdentity): PreparedConfig {
  return prepareResources(snapshot.version, decodeStoredResources(snapshot.resources, `snapshot ${snapshot.version}`), workload);
}

/** Compiles resources already decoded and validated (a snapshot's, or a benchmark's fixed set). */
export function prepareResources(version: number, resources: readonly StoredResource[], workload: WorkloadIdentity): PreparedConfig {
  const mesh = resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig')?.spec ?? defaultMeshConfigSpec();
  return { version, mesh, resources, inbound: inboundPolicy(mesh, workload, resources) };
}

function inboundPolicy(mesh: MeshConfigSpec, workload: WorkloadIdentity, resources: readonly StoredResource[]): InboundPolicy {
  const compiled = compilePolicies({ mesh, workload: { namespace: workload.namespace, labels: workload.labels }, resources });
  const mode = resolveMtlsMode(compiled, workload.appPort).mode;
  const requestAuthentications = resources.filter((r): r is StoredResource<RequestAuthentication> => r.kind === 'RequestAuthentication');
  const authn = compileJwtRules(requestAuthentications, workload, mesh.rootNamespace);
  return {
    compiled,
    normalization: mesh.pathNormalization.normalization,
    acceptPlaintext: mode === 'PERMISSIVE' || mode === 'DISABLE',
    ...(workload.keys === undefined ? {} : { jwt: { authn, resolver: workload.keys.resolver, now: workload.keys.now } }),
    ...(workload.extAuthz === undefined ? {} : { extAuthz: workload.extAuthz.prepare(providerUses(compiled, resources)) }),
  };
}

/** Each provider CUSTOM policies name, with those policies' versions: a change to either drops its cache. */
export function providerUses(compiled: CompiledPolicies, resources: readonly StoredResource[]): Map<string, ProviderUse> {
  const uses = new Map<string, ProviderUse>();
  for (const [name, provider] of compiled.providers) {
    const policies = resources
      .filter((r): r is StoredResource<AuthorizationPolicy> => r.kind === 'AuthorizationPolicy' && (r.spec as AuthorizationPolicy['spec']).provider?.name === name)
      .map((r) => `${r.metadata.namespace}/${r.metadata.name}@${r.metadata.resourceVersion ?? ''}`);
    uses.set(name, { provider, policies });
  }
  return uses;
}

/** Before any snapshot: no policy at all, so the mesh defaults (allow, MERGE_SLASHES normalization) apply. */
export function emptyConfig(workload: WorkloadIdentity): PreparedConfig {
  const mesh = defaultMeshConfigSpec();
  return { version: 0, mesh, resources: [], inbound: inboundPolicy(mesh, workload, []) };
}
