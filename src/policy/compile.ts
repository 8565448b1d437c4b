// Compiles the AuthorizationPolicies, PeerAuthentications and RequestAuthentications of one
// snapshot for one workload, once per snapshot; evaluate() then runs per request. Fail closed:
// an AuthorizationPolicy weft cannot compile as written is enforced as "deny everything it
// selects" with the reason kept for explain, never skipped (Istio skips such a rule, which for a
// DENY policy is a silent bypass; admission validation should have refused it in the first place).
import type { AuthorizationPolicy, MeshConfigSpec, PeerAuthentication, RequestAuthentication } from '../config/generated/types.js';
import type { StoredResource } from '../config/stored.js';
import { DEFAULT_PATH_NORMALIZATION } from '../config/schemas/mesh-config.js';
import { compileRule, matchAllRule, type CompiledRule, type CompileProblem } from './compile-rule.js';
import { buildIndex, type PolicyIndex } from './index-rules.js';
import type { PathNormalization } from './normalize-path.js';
import { composePeerAuthentication, type MtlsMode, type PeerAuthenticationLevels, type PolicyRef } from './peer-authentication.js';
import { selectionOf, type Workload } from './select-workload.js';
import { trustDomainSet } from './trust-domains.js';
import { compileProvider, type CompiledProvider } from './ext-authz/provider.js';

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/** One AuthorizationPolicy that applies to the workload, compiled for HTTP and for TCP. */
export interface CompiledPolicy {
  readonly ref: PolicyRef;
  /** The action as written. */
  readonly action: AuthzAction;
  readonly dryRun: boolean;
  /** Why the policy denies what its rules match (CUSTOM without a usable provider) or everything (it could not be compiled). */
  readonly failClosed?: string;
  /** CUSTOM: the extension provider its rules send requests to (set only when it is usable). */
  readonly provider?: string;
  readonly problems: readonly CompileProblem[];
  readonly http: readonly CompiledRule[];
  readonly tcp: readonly CompiledRule[];
  /** Indexes of ALLOW rules that name HTTP-only fields and so never match TCP. */
  readonly httpOnlyRules: readonly number[];
}

/** What became of each AuthorizationPolicy of the snapshot that was considered for the workload. */
export interface ConsideredPolicy {
  readonly ref: PolicyRef;
  readonly status: 'enforced' | 'dry-run' | 'fail-closed' | 'ignored';
  readonly reason?: string;
}

/** Policies of one action in evaluation order, with the index that narrows candidates per request. */
export interface PolicySet {
  readonly policies: readonly CompiledPolicy[];
  readonly http: PolicyIndex;
  readonly tcp: PolicyIndex;
}

export interface CompiledPolicies {
  readonly workload: Workload;
  readonly rootNamespace: string;
  /** The local trust domain, then its aliases. */
  readonly trustDomains: readonly string[];
  readonly pathNormalization: PathNormalization;
  /** Policies that deny what they match although not written as DENY (CUSTOM without a usable provider, or not compilable): first. */
  readonly custom: PolicySet;
  /** CUSTOM policies with a usable provider: a match sends the request to the provider before DENY and ALLOW. */
  readonly customCheck: PolicySet;
  /** The providers the CUSTOM policies of customCheck name, by name. */
  readonly providers: ReadonlyMap<string, CompiledProvider>;
  readonly deny: PolicySet;
  readonly allow: PolicySet;
  readonly audit: PolicySet;
  readonly dryRunDeny: PolicySet;
  readonly dryRunAllow: PolicySet;
  /** True when an enforced ALLOW policy applies: then a request must match one of its rules. */
  readonly hasAllow: boolean;
  readonly considered: readonly ConsideredPolicy[];
  readonly peerAuthentication: PeerAuthenticationLevels;
  /** The RequestAuthentications that apply (merged by Istio, so all of them), for the JWT stage. */
  readonly requestAuthentications: readonly StoredResource<RequestAuthentication>[];
  /** Claims matched as space-separated lists: `scope`, `permission` and every `spaceDelimitedClaims` entry. */
  readonly spaceDelimitedClaims: ReadonlySet<string>;
}

export interface CompileInput {
  readonly mesh: MeshConfigSpec;
  readonly workload: Workload;
  /** Every resource of the snapshot (other kinds are skipped). */
  readonly resources: readonly StoredResource[];
}

const DRY_RUN = 'istio.io/dry-run';
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** Go's strconv.ParseBool, which Istio applies to the dry-run annotation; undefined when unparsable. */
function parseBool(v: string): boolean | undefined {
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
}

function byName(a: { ref: PolicyRef }, b: { ref: PolicyRef }): number {
  const x = `${a.ref.namespace}/${a.ref.name}`;
  const y = `${b.ref.namespace}/${b.ref.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function compilePolicy(p: StoredResource<AuthorizationPolicy>, mesh: MeshConfigSpec, trustDomains: readonly string[], dryRun: boolean): CompiledPolicy {
  const ref = { namespace: p.metadata.namespace, name: p.metadata.name };
  const action = (p.spec.action ?? 'ALLOW') as AuthzAction;
  const problems: CompileProblem[] = [];
  if (!['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'].includes(action)) problems.push({ path: 'spec.action', message: `unknown action ${JSON.stringify(action)}` });
  const rules = p.spec.rules ?? [];
  if (!Array.isArray(rules)) problems.push({ path: 'spec.rules', message: 'must be a list' });
  if (action === 'CUSTOM' && rules.length === 0) problems.push({ path: 'spec.rules', message: 'a CUSTOM policy needs rules (add `{}` to check every request)' });
  const ctx = { namespace: ref.namespace, trustDomains };
  const variants = (Array.isArray(rules) ? rules : []).map((r, i) => compileRule(r, i, action, ctx, problems));
  if (problems.length > 0) {
    const reason = `could not be compiled: ${problems.map((x) => `${x.path}: ${x.message}`).join('; ')}`;
    return { ref, action, dryRun, failClosed: reason, problems, http: [matchAllRule()], tcp: [matchAllRule()], httpOnlyRules: [] };
  }
  const http = variants.map((v) => v.http);
  let tcp = variants.map((v) => v.tcp).filter((r): r is CompiledRule => r !== null);
  const httpOnlyRules = variants.flatMap((v, i) => (v.tcp === null ? [i] : []));
  let failClosed: string | undefined;
  let providerName: string | undefined;
  if (action === 'CUSTOM') {
    const name = p.spec.provider?.name;
    const provider = mesh.extensionProviders?.find((x) => x.name === name);
    const unusable = provider === undefined ? undefined : compileProvider(provider).unusable;
    if (provider === undefined) failClosed = `CUSTOM provider ${JSON.stringify(name ?? '')} is not in MeshConfig extensionProviders, so requests its rules match are denied`;
    else if (unusable !== undefined) failClosed = `${unusable}, so requests its rules match are denied`;
    else providerName = name;
    // Istio never sends TCP to an HTTP authorizer (only envoyExtAuthzGrpc checks connections).
    if (provider?.envoyExtAuthzHttp !== undefined) tcp = [];
  }
  return { ref, action, dryRun, ...(failClosed === undefined ? {} : { failClosed }), ...(providerName === undefined ? {} : { provider: providerName }), problems, http, tcp, httpOnlyRules };
}

/**
 * The providers of the workload's CUSTOM policies. Istio allows one provider per workload (unless
 * istiod runs with PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS): with two, every CUSTOM policy
 * becomes a deny of what it matches. weft does the same, with the reason.
 */
function customProviders(lists: { custom: CompiledPolicy[]; customCheck: CompiledPolicy[] }, considered: ConsideredPolicy[], mesh: MeshConfigSpec): Map<string, CompiledProvider> {
  const names = [...new Set(lists.customCheck.map((p) => p.provider!))].sort();
  if (names.length > 1) {
    const reason = `CUSTOM policies of this workload name ${names.length} providers (${names.map((n) => JSON.stringify(n)).join(', ')}); Istio allows one per workload, so requests their rules match are denied`;
    for (const p of lists.customCheck.splice(0)) {
      const rest: { -readonly [K in keyof CompiledPolicy]: CompiledPolicy[K] } = { ...p, failClosed: reason };
      delete rest.provider;
      lists.custom.push(rest);
      const at = considered.findIndex((c) => c.ref.namespace === p.ref.namespace && c.ref.name === p.ref.name);
      if (at !== -1) considered[at] = { ref: p.ref, status: 'fail-closed', reason };
    }
    return new Map();
  }
  const out = new Map<string, CompiledProvider>();
  for (const name of names) out.set(name, compileProvider(mesh.extensionProviders!.find((x) => x.name === name)!));
  return out;
}

function set(policies: CompiledPolicy[]): PolicySet {
  policies.sort(byName);
  return { policies, http: buildIndex(policies, 'http'), tcp: buildIndex(policies, 'tcp') };
}

/**
 * Compiles a snapshot for one workload. Pure and deterministic; never throws for bad policies
 * (they fail closed and are listed in `considered`).
 * @example compilePolicies({ mesh: defaultMeshConfigSpec(), workload: { namespace: 'foo', labels: { app: 'web' } }, resources })
 */
export function compilePolicies(input: CompileInput): CompiledPolicies {
  const { mesh, workload } = input;
  const rootNamespace = mesh.rootNamespace ?? 'istio-system';
  const trustDomains = trustDomainSet(mesh.trustDomain, mesh.trustDomainAliases);
  const lists: Record<'custom' | 'customCheck' | 'deny' | 'allow' | 'audit' | 'dryRunDeny' | 'dryRunAllow', CompiledPolicy[]> = {
    custom: [], customCheck: [], deny: [], allow: [], audit: [], dryRunDeny: [], dryRunAllow: [],
  };
  const considered: ConsideredPolicy[] = [];
  const peer: StoredResource<PeerAuthentication>[] = [];
  const requestAuthentications: StoredResource<RequestAuthentication>[] = [];
  for (const r of input.resources) {
    if (r.kind === 'PeerAuthentication') peer.push(r as StoredResource<PeerAuthentication>);
    if (r.kind === 'RequestAuthentication') {
      const ra = r as StoredResource<RequestAuthentication>;
      if (selectionOf(ra.metadata.namespace, ra.spec, workload, rootNamespace) === 'selected') requestAuthentications.push(ra);
    }
    if (r.kind !== 'AuthorizationPolicy') continue;
    const p = r as StoredResource<AuthorizationPolicy>;
    const ref = { namespace: p.metadata.namespace, name: p.metadata.name };
    const selection = selectionOf(ref.namespace, p.spec, workload, rootNamespace);
    if (selection === 'other-workload') continue;
    if (selection === 'target-ref') {
      considered.push({ ref, status: 'ignored', reason: 'targetRef policies apply to gateways and waypoints; sidecars ignore them, as in Istio' });
      continue;
    }
    const annotation = p.metadata.annotations?.[DRY_RUN];
    const parsed = annotation === undefined ? false : parseBool(annotation);
    const dryRun = parsed === true;
    const compiled = compilePolicy(p, mesh, trustDomains, dryRun);
    const note = parsed === undefined ? `${DRY_RUN}: ${JSON.stringify(annotation)} is not a boolean, so the policy is enforced` : undefined;
    if (compiled.problems.length > 0) {
      considered.push({ ref, status: dryRun ? 'dry-run' : 'fail-closed', reason: compiled.failClosed! });
      if (dryRun) lists.dryRunDeny.push(compiled);
      else if (compiled.action === 'AUDIT') lists.audit.push(compiled);
      else lists.custom.push(compiled);
      continue;
    }
    if (dryRun) {
      if (compiled.action === 'ALLOW') lists.dryRunAllow.push(compiled);
      else if (compiled.action === 'DENY') lists.dryRunDeny.push(compiled);
      considered.push({ ref, status: 'dry-run', ...(compiled.action === 'ALLOW' || compiled.action === 'DENY' ? {} : { reason: `a dry-run ${compiled.action} policy does nothing` }) });
      continue;
    }
    considered.push({ ref, status: compiled.failClosed === undefined ? 'enforced' : 'fail-closed', ...(note !== undefined ? { reason: note } : compiled.failClosed !== undefined ? { reason: compiled.failClosed } : {}) });
    lists[compiled.action === 'ALLOW' ? 'allow' : compiled.action === 'DENY' ? 'deny' : compiled.action === 'AUDIT' ? 'audit' : compiled.provider !== undefined ? 'customCheck' : 'custom'].push(compiled);
  }
  const providers = customProviders(lists, considered, mesh);
  considered.sort(byName);
  const spaceDelimited = new Set(['scope', 'permission']);
  for (const ra of requestAuthentications) for (const rule of ra.spec.jwtRules ?? []) for (const c of rule.spaceDelimitedClaims ?? []) spaceDelimited.add(c);
  const defaultMode: MtlsMode = mesh.mtls?.mode ?? 'STRICT';
  return {
    workload,
    rootNamespace,
    trustDomains,
    pathNormalization: mesh.pathNormalization?.normalization ?? DEFAULT_PATH_NORMALIZATION,
    custom: set(lists.custom),
    customCheck: set(lists.customCheck),
    providers,
    deny: set(lists.deny),
    allow: set(lists.allow),
    audit: set(lists.audit),
    dryRunDeny: set(lists.dryRunDeny),
    dryRunAllow: set(lists.dryRunAllow),
    hasAllow: lists.allow.length > 0,
    considered,
    peerAuthentication: composePeerAuthentication(peer, workload, rootNamespace, defaultMode),
    requestAuthentications,
    spaceDelimitedClaims: spaceDelimited,
  };
}
