// Which resources a workload's sidecar receives. Security policies reach a sidecar only when they
// apply to it (Istio's selection: the root namespace mesh-wide, the workload's own namespace, a
// selector matching its labels); traffic resources only when exported to its namespace. A sidecar
// never sees another namespace's workload-specific policy.
import type { MeshConfig, Resource, StoredResource } from '../../config/index.js';

export interface WorkloadScope {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

const SECURITY_KINDS = new Set(['PeerAuthentication', 'RequestAuthentication', 'AuthorizationPolicy']);
const TRAFFIC_KINDS = new Set(['DestinationRule', 'VirtualService', 'ServiceEntry']);

/** The MeshConfig in force: the one named `default`, else none (weft's defaults apply). */
export function meshConfigOf(resources: readonly StoredResource[]): StoredResource<MeshConfig> | undefined {
  return resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig' && r.metadata.name === 'default');
}

export function selectorMatches(matchLabels: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (matchLabels === undefined) return true;
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  return true;
}

/** Whether a security resource applies to the workload. targetRef policies are for gateways and waypoints, not sidecars. */
function appliesTo(resource: Resource, workload: WorkloadScope, rootNamespace: string): boolean {
  const ns = resource.metadata.namespace;
  if (ns !== workload.namespace && ns !== rootNamespace) return false;
  const spec = resource.spec as { selector?: { matchLabels?: Record<string, string> }; targetRef?: unknown; targetRefs?: unknown };
  if (spec.targetRef !== undefined || spec.targetRefs !== undefined) return false;
  return selectorMatches(spec.selector?.matchLabels, workload.labels);
}

/** Istio's exportTo: absent or `*` is every namespace, `.` the resource's own, else the names listed. */
function exportedTo(resource: Resource, namespace: string): boolean {
  const exportTo = (resource.spec as { exportTo?: readonly string[] }).exportTo;
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || e === namespace || (e === '.' && resource.metadata.namespace === namespace));
}

/** A VirtualService bound to gateways only routes at those gateways, not in sidecars. */
function boundToMesh(resource: Resource): boolean {
  if (resource.kind !== 'VirtualService') return true;
  const gateways = resource.spec.gateways;
  return gateways === undefined || gateways.length === 0 || gateways.includes('mesh');
}

/**
 * The resources a workload's sidecar receives, in the order given (callers pass a stable order
 * so equal scopes serialize equally).
 */
export function scopeResources(resources: readonly StoredResource[], workload: WorkloadScope): StoredResource[] {
  const mesh = meshConfigOf(resources);
  const rootNamespace = mesh?.spec.rootNamespace ?? 'istio-system';
  return resources.filter((r) => {
    if (r === mesh) return true;
    if (SECURITY_KINDS.has(r.kind)) return appliesTo(r, workload, rootNamespace);
    if (TRAFFIC_KINDS.has(r.kind)) return exportedTo(r, workload.namespace) && boundToMesh(r);
    return false;
  });
}
