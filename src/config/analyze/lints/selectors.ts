// WA001 (a selector that picks no registered workload) and WA006 (a DestinationRule subset no
// endpoint of its host has). Both need the registry.
import type { DestinationRule } from '../../generated/types.js';
import type { StoredResource } from '../../stored.js';
import { finding, labelsMatch, matchLabelsOf, ofKind, selectedWorkloads, serviceKeyOf, targetsRefs, type Context } from '../context.js';
import type { Finding } from '../types.js';

const SELECTING_KINDS = new Set(['PeerAuthentication', 'RequestAuthentication', 'AuthorizationPolicy']);

export function selectorsMatchingNothing(ctx: Context): Finding[] {
  const workloads = ctx.input.workloads!;
  const out: Finding[] = [];
  for (const r of ctx.input.resources) {
    if (!SELECTING_KINDS.has(r.kind) || targetsRefs(r)) continue;
    const ns = r.metadata.namespace!;
    const labels = matchLabelsOf(r);
    // A PeerAuthentication with a selector in the root namespace is ignored altogether (WA012).
    if (ns === ctx.rootNamespace && (labels === undefined || r.kind === 'PeerAuthentication')) continue;
    if (selectedWorkloads(ctx, r).length > 0) continue;
    if (labels === undefined) {
      if (workloads.some((w) => w.namespace === ns)) continue;
      out.push(finding('WA001', r, `no workload is registered in namespace ${ns}, so this ${r.kind} applies to nothing yet`, 'metadata.namespace'));
    } else {
      const where = ns === ctx.rootNamespace ? 'in any namespace' : `in namespace ${ns}`;
      out.push(finding('WA001', r, `the selector ${JSON.stringify(labels)} matches no registered workload ${where}, so this ${r.kind} applies to nothing`, 'spec.selector.matchLabels'));
    }
  }
  for (const dr of ofKind<DestinationRule>(ctx.input, 'DestinationRule')) out.push(...subsetsWithoutEndpoints(ctx, dr));
  return out;
}

function subsetsWithoutEndpoints(ctx: Context, dr: StoredResource<DestinationRule>): Finding[] {
  const service = serviceKeyOf(dr.spec.host, dr.metadata.namespace);
  const endpoints = service === undefined ? undefined : ctx.endpoints!.get(service);
  // A host that is no registered service is WA011's; a ServiceEntry host's endpoints are not workloads.
  if (endpoints === undefined) return [];
  const out: Finding[] = [];
  (dr.spec.subsets ?? []).forEach((subset, i) => {
    const labels = subset.labels ?? {};
    if (Object.keys(labels).length === 0 || endpoints.some((w) => labelsMatch(labels, w.labels))) return;
    if (!ctx.input.workloads!.some((w) => labelsMatch(labels, w.labels))) {
      out.push(finding('WA001', dr, `subset ${subset.name}: the labels ${JSON.stringify(labels)} match no registered workload, so traffic routed to the subset has no endpoint`, `spec.subsets[${i}].labels`));
    } else {
      out.push(finding('WA006', dr, `subset ${subset.name}: no endpoint of ${service} has the labels ${JSON.stringify(labels)} (other workloads do), so traffic routed to the subset has no endpoint`, `spec.subsets[${i}].labels`));
    }
  });
  return out;
}
