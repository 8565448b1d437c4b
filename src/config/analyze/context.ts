// Facts every lint shares: the mesh's scopes (root namespace, trust domains), which resources a
// sidecar enforces, which workloads a selector picks, and how a host names a registered service.
import type { AuthorizationPolicy, Resource } from '../generated/types.js';
import { key } from '../resources.js';
import type { StoredResource } from '../stored.js';
import { severityOf, type LintCodeName } from './codes.js';
import type { AnalyzeInput, AnalyzedWorkload, Finding } from './types.js';

/** The literal trust domain Istio reads as "this mesh", whatever the mesh's own is. */
export const LOCAL_TRUST_DOMAIN_LITERAL = 'cluster.local';

const CLUSTER_SUFFIXES = ['.svc.cluster.local', '.svc'];
const DRY_RUN = 'istio.io/dry-run';
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

export interface Context {
  readonly input: AnalyzeInput;
  readonly rootNamespace: string;
  /** The mesh's trust domain and its aliases. */
  readonly trustDomains: readonly string[];
  readonly policies: readonly StoredResource<AuthorizationPolicy>[];
  /** Registered workloads by service (`name.namespace`); undefined offline. */
  readonly endpoints: ReadonlyMap<string, readonly AnalyzedWorkload[]> | undefined;
}

export type Lint = (ctx: Context) => Finding[];

export function contextOf(input: AnalyzeInput): Context {
  let endpoints: Map<string, AnalyzedWorkload[]> | undefined;
  if (input.workloads !== undefined) {
    endpoints = new Map();
    for (const w of input.workloads) {
      for (const s of w.services) {
        const k = `${s.name}.${w.namespace}`;
        endpoints.set(k, [...(endpoints.get(k) ?? []), w]);
      }
    }
  }
  return {
    input,
    rootNamespace: input.mesh.rootNamespace,
    trustDomains: [...new Set([input.trustDomain, ...(input.mesh.trustDomainAliases ?? [])])],
    policies: ofKind<AuthorizationPolicy>(input, 'AuthorizationPolicy'),
    endpoints,
  };
}

export function ofKind<R extends Resource>(input: AnalyzeInput, kind: R['kind']): StoredResource<R>[] {
  return input.resources.filter((r) => r.kind === kind) as unknown as StoredResource<R>[];
}

/** A finding with the severity its code always has. */
export function finding(code: LintCodeName, resource: Resource | string, message: string, path?: string): Finding {
  return { code, severity: severityOf(code), message, resource: typeof resource === 'string' ? resource : key(resource), ...(path === undefined ? {} : { path }) };
}

/** `matchLabels` of a selector, undefined when it names no label (then the whole scope is selected). */
export function matchLabelsOf(r: Resource): Readonly<Record<string, string>> | undefined {
  const labels = (r.spec as { selector?: { matchLabels?: Readonly<Record<string, string>> } }).selector?.matchLabels;
  return labels === undefined || Object.keys(labels).length === 0 ? undefined : labels;
}

export function labelsMatch(want: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => labels[k] === v);
}

/** True for a policy with `targetRef(s)`: for gateways and waypoints, ignored by sidecars. */
export function targetsRefs(r: Resource): boolean {
  const spec = r.spec as { targetRef?: unknown; targetRefs?: readonly unknown[] };
  return spec.targetRef !== undefined || (spec.targetRefs !== undefined && spec.targetRefs.length > 0);
}

/** Istio's dry-run annotation, read with Go's ParseBool; anything unparsable means enforced. */
export function isDryRun(r: Resource): boolean {
  const v = r.metadata.annotations?.[DRY_RUN];
  return v !== undefined && TRUE.has(v);
}

/**
 * The registered workloads an AuthorizationPolicy or RequestAuthentication applies to: its
 * namespace's (every namespace's from the root namespace) whose labels include the selector's.
 */
export function selectedWorkloads(ctx: Context, r: Resource): readonly AnalyzedWorkload[] {
  if (targetsRefs(r) || ctx.input.workloads === undefined) return [];
  const ns = r.metadata.namespace;
  const want = matchLabelsOf(r);
  return ctx.input.workloads.filter((w) => (ns === ctx.rootNamespace || w.namespace === ns) && labelsMatch(want, w.labels));
}

/**
 * True when `outer` applies to every workload `inner` applies to, whichever workloads exist:
 * same namespace or the root namespace, and a selector no narrower.
 */
export function scopeCovers(ctx: Context, outer: Resource, inner: Resource): boolean {
  const ns = outer.metadata.namespace;
  if (ns !== ctx.rootNamespace && ns !== inner.metadata.namespace) return false;
  const innerLabels = matchLabelsOf(inner) ?? {};
  return Object.entries(matchLabelsOf(outer) ?? {}).every(([k, v]) => innerLabels[k] === v);
}

/**
 * The service (`name.namespace`) a host names in the registry's terms: `name` (in `namespace`),
 * `name.ns`, `name.ns.svc` or `name.ns.svc.cluster.local`; undefined for any other shape.
 */
export function serviceKeyOf(host: string, namespace: string): string | undefined {
  const lower = host.toLowerCase();
  const suffix = CLUSTER_SUFFIXES.find((s) => lower.endsWith(s));
  const h = suffix === undefined ? lower : lower.slice(0, -suffix.length);
  const parts = h.split('.');
  if (parts.some((p) => p === '' || p.includes('*'))) return undefined;
  if (parts.length === 1 && suffix === undefined) return `${h}.${namespace}`;
  return parts.length === 2 ? h : undefined;
}

/** `namespace/serviceAccount` of a workload, how findings name it. */
export function workloadName(w: AnalyzedWorkload): string {
  return `${w.namespace}/${w.serviceAccount}`;
}

/** Names a few workloads for a message: `shop/db, shop/cache and 3 more`. */
export function nameWorkloads(ws: readonly AnalyzedWorkload[]): string {
  const names = [...new Set(ws.map(workloadName))].sort();
  if (names.length <= 3) return names.join(', ');
  return `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}
