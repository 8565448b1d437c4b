// Which DestinationRule governs a destination for one calling sidecar, and the policy it gives
// (Istio's PushContext.destinationRule, mergeDestinationRule, SidecarScope.DestinationRule and
// MergeTrafficPolicy). Compiled once per snapshot; `policyFor` answers from a cache afterwards.
import type { DestinationRule, MeshConfigSpec, Subset, TrafficPolicy } from '../config/generated/types.js';
import type { StoredResource } from '../config/stored.js';
import { resolvePolicy, type ClusterPolicy, type PolicyBlocks } from './cluster-policy.js';
import type { CallerView, EndpointView, ServiceView } from './types.js';

export interface ClusterTableInput {
  readonly mesh: MeshConfigSpec;
  readonly caller: CallerView;
  readonly resources: readonly StoredResource[];
  readonly services: readonly ServiceView[];
  /** The services' DNS suffix without its leading dot; default `svc.cluster.local`. */
  readonly clusterDomain?: string;
}

/** Something in the rules worth telling an operator; the table still answers. */
export interface ClusterIssue {
  readonly kind: 'duplicate-subset' | 'unknown-host';
  /** `namespace/name` of the rule concerned. */
  readonly rule: string;
  readonly message: string;
}

/** The endpoints of a subset, or why there are none to choose from. */
export type SubsetEndpoints =
  | { readonly ok: true; readonly endpoints: readonly EndpointView[] }
  | { readonly ok: false; readonly reason: 'undefined-subset'; readonly message: string };

export interface ClusterTable {
  /** The effective policy towards `host` (short names resolve in the caller's namespace). */
  policyFor(host: string, subset: string | undefined, port: number): ClusterPolicy;
  /** The service's endpoints the subset selects; all of them for no subset. */
  subsetEndpoints(service: ServiceView, subset: string | undefined): SubsetEndpoints;
  /** The rule (merged) in force for `host`, or undefined: for explanations and tests. */
  ruleFor(host: string): MergedRule | undefined;
  readonly issues: readonly ClusterIssue[];
}

/** One or more DestinationRules for the same host and selector, merged as Istio merges them. */
export interface MergedRule {
  readonly host: string;
  readonly namespace: string;
  /** `namespace/name` of each merged rule, oldest first. */
  readonly rules: readonly string[];
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly trafficPolicy: TrafficPolicy | undefined;
  readonly subsets: readonly Subset[];
}

/** Rules of one namespace visible to the caller, by canonical host. */
interface Level {
  readonly exact: Map<string, MergedRule[]>;
  /** Wildcard hosts without the `*`, longest first (`.foo.com`; '' for `*`). */
  readonly wildcards: { suffix: string; rules: MergedRule[] }[];
}

const DEFAULT_CLUSTER_DOMAIN = 'svc.cluster.local';
/** Past this many distinct lookups the caches stop growing: hosts can come from requests. */
const CACHE_LIMIT = 10_000;
const NO_POLICY_RULES: readonly string[] = [];

/** Oldest first, then namespace and name: Istio's order among rules for the same host. */
function byAge(a: StoredResource, b: StoredResource): number {
  const ta = a.metadata.creationTimestamp;
  const tb = b.metadata.creationTimestamp;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Whether a rule exported to `exportTo` (absent: everywhere) is visible to callers in `ns`. */
export function visibleTo(ruleNamespace: string, exportTo: readonly string[] | undefined, ns: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === '*' || e === ns || (e === '.' && ruleNamespace === ns)) return true;
  }
  return false;
}

/**
 * The host as the table keys it: lowercase, no trailing dot, services fully qualified. A short
 * name resolves in `namespace`; `name.ns` and `name.ns.svc` (how weft's callers name services)
 * get the cluster domain when `ns` is a namespace with services.
 */
export function canonicalHost(host: string, namespace: string, namespaces: ReadonlySet<string>, clusterDomain: string): string {
  let h = host.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === '*') return h;
  if (!h.includes('.')) return `${h}.${namespace}.${clusterDomain}`;
  if (h.endsWith(`.${clusterDomain}`)) return h;
  const firstDot = clusterDomain.indexOf('.');
  const head = firstDot === -1 ? clusterDomain : clusterDomain.slice(0, firstDot);
  if (firstDot !== -1 && h.endsWith(`.${head}`)) return `${h}${clusterDomain.slice(firstDot)}`;
  const parts = h.split('.');
  if (parts.length === 2 && namespaces.has(parts[1]!)) return `${h}.${clusterDomain}`;
  return h;
}

function selectorKey(selector: Readonly<Record<string, string>> | undefined): string {
  if (selector === undefined) return '';
  return JSON.stringify(Object.keys(selector).sort().map((k) => [k, selector[k]]));
}

function labelsInclude(labels: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>): boolean {
  for (const k in want) if (labels[k] !== want[k]) return false;
  return true;
}

/**
 * Istio's MergeTrafficPolicy: the blocks of `over` replace those of `base` one by one; a port-level
 * entry of `over` for `port` then replaces the four blocks it covers, even with nothing.
 */
export function mergeTrafficPolicy(base: PolicyBlocks | undefined, over: TrafficPolicy | undefined, port: number): PolicyBlocks | undefined {
  if (over === undefined) return base;
  const merged: { -readonly [K in keyof PolicyBlocks]: PolicyBlocks[K] } = { ...base };
  if (over.loadBalancer !== undefined) merged.loadBalancer = over.loadBalancer;
  if (over.connectionPool !== undefined) merged.connectionPool = over.connectionPool;
  if (over.outlierDetection !== undefined) merged.outlierDetection = over.outlierDetection;
  if (over.tls !== undefined) merged.tls = over.tls;
  const level = over.portLevelSettings?.find((p) => p.port?.number === port);
  if (level !== undefined) {
    return { loadBalancer: level.loadBalancer, connectionPool: level.connectionPool, outlierDetection: level.outlierDetection, tls: level.tls };
  }
  return merged;
}

/** Compiles the DestinationRules of a snapshot for one calling sidecar. */
export function compileClusters(input: ClusterTableInput): ClusterTable {
  const domain = input.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const callerNs = input.caller.namespace;
  const root = input.mesh.rootNamespace;
  const namespaces = new Set(input.services.map((s) => s.namespace));
  const serviceHosts = new Set(input.services.map((s) => `${s.name}.${s.namespace}.${domain}`.toLowerCase()));
  const issues: ClusterIssue[] = [];

  const rules = input.resources
    .filter((r): r is StoredResource<DestinationRule> => r.kind === 'DestinationRule')
    .sort(byAge);
  // Merge per (namespace, host, selector) among the rules the caller can see at all.
  const levels = new Map<string, Level>();
  const merged = new Map<string, MergedRule & { subsets: Subset[]; rules: string[] }>();
  for (const dr of rules) {
    const ns = dr.metadata.namespace;
    const id = `${ns}/${dr.metadata.name}`;
    const host = canonicalHost(dr.spec.host, ns, namespaces, domain);
    if (host.endsWith(`.${domain}`) && !host.startsWith('*') && !serviceHosts.has(host)) {
      issues.push({ kind: 'unknown-host', rule: id, message: `host ${dr.spec.host} (${host}) is not a registered service; the rule applies once one is` });
    }
    if (!visibleTo(ns, dr.spec.exportTo, callerNs)) continue;
    const selector = dr.spec.workloadSelector?.matchLabels;
    const key = `${ns}\u0000${host}\u0000${selectorKey(selector)}`;
    const existing = merged.get(key);
    if (existing === undefined) {
      const entry = { host, namespace: ns, rules: [id], selector, trafficPolicy: dr.spec.trafficPolicy, subsets: [...(dr.spec.subsets ?? [])] };
      merged.set(key, entry);
      let level = levels.get(ns);
      if (level === undefined) {
        level = { exact: new Map(), wildcards: [] };
        levels.set(ns, level);
      }
      if (host.startsWith('*')) {
        const suffix = host.slice(1);
        const w = level.wildcards.find((x) => x.suffix === suffix);
        if (w === undefined) level.wildcards.push({ suffix, rules: [entry] });
        else w.rules.push(entry);
      } else {
        const list = level.exact.get(host);
        if (list === undefined) level.exact.set(host, [entry]);
        else list.push(entry);
      }
      continue;
    }
    existing.rules.push(id);
    if (existing.trafficPolicy === undefined && dr.spec.trafficPolicy !== undefined) {
      (existing as { trafficPolicy: TrafficPolicy | undefined }).trafficPolicy = dr.spec.trafficPolicy;
    }
    for (const subset of dr.spec.subsets ?? []) {
      if (existing.subsets.some((s) => s.name === subset.name)) {
        issues.push({ kind: 'duplicate-subset', rule: id, message: `subset ${subset.name} of host ${dr.spec.host} is already defined by ${existing.rules[0]}; this one is ignored` });
      } else {
        existing.subsets.push(subset);
      }
    }
  }
  for (const level of levels.values()) level.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);

  /** The rule at one namespace's level for `host`, with the selector applied; null: host not matched. */
  const atLevel = (ns: string, host: string): MergedRule | undefined | null => {
    const level = levels.get(ns);
    if (level === undefined) return null;
    let candidates = level.exact.get(host);
    if (candidates === undefined) {
      for (const w of level.wildcards) {
        if (w.suffix === '' || (host.endsWith(w.suffix) && host.length > w.suffix.length)) {
          candidates = w.rules;
          break;
        }
      }
    }
    if (candidates === undefined) return null;
    let catchAll: MergedRule | undefined;
    for (const c of candidates) {
      if (c.selector === undefined) {
        catchAll ??= c;
      } else if (c.namespace === callerNs && labelsInclude(input.caller.labels, c.selector)) {
        return c;
      }
    }
    return catchAll;
  };

  const ruleCache = new Map<string, MergedRule | undefined>();
  const canonicalCache = new Map<string, string>();
  const canonical = (host: string): string => {
    let c = canonicalCache.get(host);
    if (c === undefined) {
      c = canonicalHost(host, callerNs, namespaces, domain);
      if (canonicalCache.size < CACHE_LIMIT) canonicalCache.set(host, c);
    }
    return c;
  };
  const lookup = (canonicalName: string): MergedRule | undefined => {
    if (ruleCache.has(canonicalName)) return ruleCache.get(canonicalName);
    let found = atLevel(callerNs, canonicalName);
    if (found === null) {
      const svcNs = serviceNamespaceOf(canonicalName, domain);
      if (svcNs !== undefined && svcNs !== callerNs) found = atLevel(svcNs, canonicalName);
      if (found === null && root !== callerNs && root !== svcNs) found = atLevel(root, canonicalName);
    }
    const rule = found ?? undefined;
    if (ruleCache.size < CACHE_LIMIT) ruleCache.set(canonicalName, rule);
    return rule;
  };

  const policyCache = new Map<MergedRule | undefined, Map<number, Map<string, ClusterPolicy>>>();
  const policyOf = (rule: MergedRule | undefined, subset: string | undefined, port: number): ClusterPolicy => {
    let byPort = policyCache.get(rule);
    if (byPort === undefined) {
      byPort = new Map();
      policyCache.set(rule, byPort);
    }
    let bySubset = byPort.get(port);
    if (bySubset === undefined) {
      bySubset = new Map();
      if (byPort.size < CACHE_LIMIT) byPort.set(port, bySubset);
    }
    const subsetKey = subset ?? '';
    let policy = bySubset.get(subsetKey);
    if (policy === undefined) {
      let blocks = mergeTrafficPolicy(undefined, rule?.trafficPolicy, port);
      const s = subset === undefined ? undefined : rule?.subsets.find((x) => x.name === subset);
      if (s !== undefined) blocks = mergeTrafficPolicy(blocks, s.trafficPolicy, port);
      policy = resolvePolicy(blocks, rule?.rules ?? NO_POLICY_RULES);
      if (bySubset.size < CACHE_LIMIT) bySubset.set(subsetKey, policy);
    }
    return policy;
  };

  const subsetCache = new WeakMap<ServiceView, Map<string, SubsetEndpoints>>();
  return {
    issues,
    ruleFor: (host) => lookup(canonical(host)),
    policyFor: (host, subset, port) => policyOf(lookup(canonical(host)), subset, port),
    subsetEndpoints(service, subset) {
      if (subset === undefined) return { ok: true, endpoints: service.endpoints };
      let bySubset = subsetCache.get(service);
      if (bySubset === undefined) {
        bySubset = new Map();
        subsetCache.set(service, bySubset);
      }
      let answer = bySubset.get(subset);
      if (answer === undefined) {
        const rule = lookup(`${service.name}.${service.namespace}.${domain}`.toLowerCase());
        const def = rule?.subsets.find((s) => s.name === subset);
        if (def === undefined) {
          answer = { ok: false, reason: 'undefined-subset', message: `subset ${subset} of ${service.name}.${service.namespace} is not defined by any DestinationRule in force for this workload` };
        } else {
          const want = def.labels ?? {};
          answer = { ok: true, endpoints: service.endpoints.filter((ep) => labelsInclude(ep.labels, want)) };
        }
        if (bySubset.size < CACHE_LIMIT) bySubset.set(subset, answer);
      }
      return answer;
    },
  };
}

/** `ns` of `name.ns.<cluster domain>`, else undefined (not a mesh service). */
function serviceNamespaceOf(host: string, clusterDomain: string): string | undefined {
  if (!host.endsWith(`.${clusterDomain}`)) return undefined;
  const parts = host.slice(0, -clusterDomain.length - 1).split('.');
  return parts.length === 2 && parts[0] !== '*' ? parts[1] : undefined;
}
