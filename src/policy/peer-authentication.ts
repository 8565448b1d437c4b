// PeerAuthentication: the mTLS mode a workload's inbound port accepts, as Istio composes it
// (pilot/pkg/security/authn ComposePeerAuthentication): at most one policy per level (mesh: the
// root namespace without selector; namespace: the workload's namespace without selector; workload:
// the workload's namespace with a matching selector; a selector policy in the root namespace is
// ignored), the oldest by creationTimestamp winning within a level (then name, then namespace).
// Levels apply top-down, UNSET inheriting; portLevelMtls of the workload policy is keyed by the
// workload's (container) port. When nothing sets a mode, MeshConfig's `mtls.mode` applies: STRICT
// by default in weft, where Istio starts from PERMISSIVE.
import type { PeerAuthentication, PeerAuthenticationMutualTLS } from '../config/generated/types.js';
import type { StoredResource } from '../config/stored.js';
import { hasSelector, labelsMatch, type Workload } from './select-workload.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** `namespace/name` of a resource. */
export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
}

export type PeerAuthenticationLevel = 'mesh' | 'namespace' | 'workload';

/** The policy chosen for one level, and those it beat (newer ones, silently ignored by Istio). */
export interface PeerAuthenticationChoice {
  readonly level: PeerAuthenticationLevel;
  readonly policy: StoredResource<PeerAuthentication>;
  readonly ignored: readonly PolicyRef[];
}

/** The PeerAuthentications that bear on one workload, by level. */
export interface PeerAuthenticationLevels {
  readonly defaultMode: MtlsMode;
  readonly mesh?: PeerAuthenticationChoice;
  readonly namespace?: PeerAuthenticationChoice;
  readonly workload?: PeerAuthenticationChoice;
}

/** The mode for one port and where it came from. */
export interface MtlsResolution {
  readonly mode: MtlsMode;
  /** The resource whose setting decided; undefined when MeshConfig's default did. */
  readonly policy?: PolicyRef;
  readonly level: PeerAuthenticationLevel | 'mesh-config';
  /** True when the mode came from `portLevelMtls[port]`. */
  readonly portLevel: boolean;
}

function timeOf(r: StoredResource): number {
  const t = Date.parse(r.metadata.creationTimestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Istio's conflict order: oldest first, then name, then namespace. */
export function olderFirst(a: StoredResource, b: StoredResource): number {
  const d = timeOf(a) - timeOf(b);
  if (d !== 0 && !Number.isNaN(d)) return d < 0 ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

function ref(r: StoredResource): PolicyRef {
  return { namespace: r.metadata.namespace ?? '', name: r.metadata.name };
}

function choose(level: PeerAuthenticationLevel, list: StoredResource<PeerAuthentication>[]): PeerAuthenticationChoice | undefined {
  if (list.length === 0) return undefined;
  const sorted = [...list].sort(olderFirst);
  return { level, policy: sorted[0]!, ignored: sorted.slice(1).map(ref) };
}

/** Sorts the PeerAuthentications into levels for one workload. */
export function composePeerAuthentication(
  resources: readonly StoredResource<PeerAuthentication>[],
  workload: Workload,
  rootNamespace: string,
  defaultMode: MtlsMode,
): PeerAuthenticationLevels {
  const mesh: StoredResource<PeerAuthentication>[] = [];
  const namespace: StoredResource<PeerAuthentication>[] = [];
  const wl: StoredResource<PeerAuthentication>[] = [];
  for (const r of resources) {
    const ns = r.metadata.namespace;
    const selected = hasSelector(r.spec.selector);
    if (!selected) {
      if (ns === rootNamespace) mesh.push(r);
      else if (ns === workload.namespace) namespace.push(r);
    } else if (ns !== rootNamespace && ns === workload.namespace && labelsMatch(r.spec.selector, workload.labels)) {
      wl.push(r);
    }
  }
  return {
    defaultMode,
    ...optional('mesh', choose('mesh', mesh)),
    ...optional('namespace', choose('namespace', namespace)),
    ...optional('workload', choose('workload', wl)),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function setMode(m: PeerAuthenticationMutualTLS | undefined): MtlsMode | undefined {
  const mode = m?.mode;
  return mode === 'STRICT' || mode === 'PERMISSIVE' || mode === 'DISABLE' ? mode : undefined;
}

/**
 * The mTLS mode of the workload's port `appPort` (its container port, not a service port).
 * @example resolvePeerAuthentication(levels, 8080) -> { mode: 'STRICT', level: 'namespace', policy: {namespace: 'foo', name: 'default'}, portLevel: false }
 */
export function resolvePeerAuthentication(levels: PeerAuthenticationLevels, appPort: number): MtlsResolution {
  let out: MtlsResolution = { mode: levels.defaultMode, level: 'mesh-config', portLevel: false };
  for (const choice of [levels.mesh, levels.namespace, levels.workload]) {
    if (choice === undefined) continue;
    const mode = setMode(choice.policy.spec.mtls);
    if (mode !== undefined) out = { mode, level: choice.level, policy: ref(choice.policy), portLevel: false };
  }
  const w = levels.workload;
  const port = w?.policy.spec.portLevelMtls?.[String(appPort)];
  if (w !== undefined && port !== undefined) {
    const mode = setMode(port);
    if (mode !== undefined) out = { mode, level: 'workload', policy: ref(w.policy), portLevel: true };
  }
  return out;
}
