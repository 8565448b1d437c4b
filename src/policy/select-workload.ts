// Which policies a sidecar's workload must enforce (Istio type/v1beta1/selector.proto and
// pilot/pkg/model/policyattachment.go). A policy in the root namespace without a selector applies
// to the whole mesh, with a selector to matching workloads of every namespace; any other policy to
// its own namespace, all of it or the workloads whose labels include every `matchLabels` pair.
// A policy with `targetRef`/`targetRefs` is for gateways and waypoints: sidecars ignore it.
import type { PolicyTargetReference, WorkloadSelector } from '../config/generated/types.js';

/** The workload a sidecar serves. */
export interface Workload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
}

/** The selecting part of AuthorizationPolicy and RequestAuthentication specs. */
export interface Selecting {
  readonly selector?: WorkloadSelector;
  readonly targetRef?: PolicyTargetReference;
  readonly targetRefs?: readonly PolicyTargetReference[];
}

/** Whether a policy applies to the workload, and when not only because of targetRefs, say so. */
export type Selection = 'selected' | 'other-workload' | 'target-ref';

/** True when every `matchLabels` pair is among the workload's labels (an empty selector matches all). */
export function labelsMatch(selector: WorkloadSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  const want = selector?.matchLabels;
  if (want === undefined) return true;
  for (const [k, v] of Object.entries(want)) if (labels[k] !== v) return false;
  return true;
}

/** Selection for AuthorizationPolicy and RequestAuthentication. */
export function selectionOf(namespace: string, spec: Selecting, workload: Workload, rootNamespace: string): Selection {
  if (spec.targetRef !== undefined || (spec.targetRefs !== undefined && spec.targetRefs.length > 0)) return 'target-ref';
  if (namespace !== rootNamespace && namespace !== workload.namespace) return 'other-workload';
  return labelsMatch(spec.selector, workload.labels) ? 'selected' : 'other-workload';
}

/** True when a selector names at least one label. */
export function hasSelector(selector: WorkloadSelector | undefined): boolean {
  return selector?.matchLabels !== undefined && Object.keys(selector.matchLabels).length > 0;
}
