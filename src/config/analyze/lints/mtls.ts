// WA002 (PERMISSIVE or DISABLE in force) and WA012 (a PeerAuthentication that never takes effect).
// PeerAuthentication composes as Istio's ComposePeerAuthentication does: one policy per level
// (mesh: root namespace without selector; namespace: without selector; workload: with a selector),
// the oldest winning within a level (then name, then namespace); a selector in the root namespace
// is ignored. MeshConfig's mode applies where no level sets one.
import type { MeshConfig, PeerAuthentication } from '../../generated/types.js';
import { formatPath } from '../../path.js';
import { key } from '../../resources.js';
import type { StoredResource } from '../../stored.js';
import { finding, labelsMatch, matchLabelsOf, ofKind, workloadName, type Context } from '../context.js';
import type { AnalyzedWorkload, Finding } from '../types.js';

type PA = StoredResource<PeerAuthentication>;

const PLAINTEXT = new Set(['PERMISSIVE', 'DISABLE']);

function timeOf(r: PA): number {
  const t = Date.parse(r.metadata.creationTimestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Istio's conflict order: oldest first, then name, then namespace. */
function olderFirst(a: PA, b: PA): number {
  const d = timeOf(a) - timeOf(b);
  if (d !== 0 && !Number.isNaN(d)) return d < 0 ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  return a.metadata.namespace < b.metadata.namespace ? -1 : a.metadata.namespace > b.metadata.namespace ? 1 : 0;
}

const setsMode = (mode: string | undefined) => mode !== undefined && mode !== 'UNSET';

/** The PeerAuthentications that never take effect, each with why. */
function ignoredPeerAuthentications(ctx: Context, all: readonly PA[]): Map<PA, string> {
  const ignored = new Map<PA, string>();
  const sorted = [...all].sort(olderFirst);
  for (const [i, pa] of sorted.entries()) {
    const ns = pa.metadata.namespace;
    const labels = matchLabelsOf(pa);
    if (labels !== undefined && ns === ctx.rootNamespace) {
      ignored.set(pa, 'a PeerAuthentication with a selector in the root namespace is ignored (only one without a selector applies there, mesh-wide)');
      continue;
    }
    const older = sorted.slice(0, i).filter((o) => o.metadata.namespace === ns && !ignored.has(o) && (matchLabelsOf(o) === undefined) === (labels === undefined));
    const level = labels === undefined ? (ns === ctx.rootNamespace ? 'mesh' : `namespace ${ns}`) : undefined;
    if (level !== undefined && older.length > 0) {
      ignored.set(pa, `${key(older[0]!)} is older and applies at the same level (${level}): the oldest wins, newer ones are ignored`);
      continue;
    }
    if (labels === undefined) continue;
    const wider = older.find((o) => labelsMatch(matchLabelsOf(o), labels));
    if (wider !== undefined) {
      ignored.set(pa, `${key(wider)} is older and selects every workload this one selects: at the workload level the oldest wins`);
      continue;
    }
    const selected = ctx.input.workloads?.filter((w) => w.namespace === ns && labelsMatch(labels, w.labels)) ?? [];
    const beaten = (w: AnalyzedWorkload) => older.some((o) => labelsMatch(matchLabelsOf(o), w.labels));
    if (selected.length > 0 && selected.every(beaten)) {
      ignored.set(pa, `every registered workload it selects (${selected.map(workloadName).sort().join(', ')}) is already selected by an older workload-level PeerAuthentication, and the oldest wins`);
    }
  }
  return ignored;
}

export function peerAuthenticationLints(ctx: Context): Finding[] {
  const all = ofKind<PeerAuthentication>(ctx.input, 'PeerAuthentication');
  const ignored = ignoredPeerAuthentications(ctx, all);
  const out: Finding[] = [...ignored].map(([pa, why]) => finding('WA012', pa, `this PeerAuthentication never takes effect: ${why}`, pa.spec.selector === undefined ? undefined : 'spec.selector'));
  const inForce = all.filter((pa) => !ignored.has(pa));
  const meshPolicy = inForce.find((pa) => pa.metadata.namespace === ctx.rootNamespace && setsMode(pa.spec.mtls?.mode));
  const meshMode = ctx.input.mesh.mtls.mode;
  if (PLAINTEXT.has(meshMode) && meshPolicy === undefined) {
    const mc = ctx.input.resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig');
    out.push(finding('WA002', mc ?? 'MeshConfig/default', `MeshConfig's default mTLS mode is ${meshMode}, in force for every workload no PeerAuthentication sets a mode for: ${effect(meshMode)}`, 'spec.mtls.mode'));
  }
  for (const pa of inForce) {
    const ns = pa.metadata.namespace;
    const scope = matchLabelsOf(pa) !== undefined ? 'the workloads it selects' : ns === ctx.rootNamespace ? 'every workload of the mesh' : `every workload of namespace ${ns}`;
    const mode = pa.spec.mtls?.mode;
    if (mode !== undefined && PLAINTEXT.has(mode)) {
      out.push(finding('WA002', pa, `mTLS mode ${mode} for ${scope} (unless a more specific PeerAuthentication sets a mode): ${effect(mode)}`, 'spec.mtls.mode'));
    }
    for (const [port, setting] of Object.entries(pa.spec.portLevelMtls ?? {})) {
      if (setting.mode === undefined || !PLAINTEXT.has(setting.mode)) continue;
      out.push(finding('WA002', pa, `port ${port} of ${scope} is ${setting.mode}: ${effect(setting.mode)}`, formatPath(['spec', 'portLevelMtls', port, 'mode'])));
    }
  }
  return out;
}

function effect(mode: string): string {
  return mode === 'DISABLE'
    ? 'only plaintext is accepted, so no caller has a verified identity and principals or namespaces never match'
    : 'plaintext is accepted alongside mTLS, and a plaintext caller has no verified identity';
}
