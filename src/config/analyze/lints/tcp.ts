// WA003: HTTP-only fields (hosts, methods, paths, requestPrincipals, request.headers[...],
// request.auth.*, and their `not` forms) in rules that apply to TCP ports. Istio drops an ALLOW
// rule with any of them on TCP (it never matches there) and drops only those fields from a DENY
// rule (it widens, often to every connection). Needs the registry: it reads the ports' protocols.
import type { AuthorizationPolicy, Rule } from '../../generated/types.js';
import type { StoredResource } from '../../stored.js';
import { finding, isDryRun, nameWorkloads, selectedWorkloads, type Context } from '../context.js';
import { httpOnlyFields, portsOf, tcpRemainder } from '../rules.js';
import type { AnalyzedWorkload, Finding } from '../types.js';

/** Each port of the workload and whether it is TCP (only when every service declaring it says TCP). */
function portProtocols(w: AnalyzedWorkload): Map<number, boolean> {
  const tcp = new Map<number, boolean>();
  for (const s of w.services) for (const p of s.ports) tcp.set(p.port, (tcp.get(p.port) ?? true) && p.protocol === 'TCP');
  return tcp;
}

/** The declared ports of `w` that `rule` can match on, with whether each is TCP. */
function reachablePorts(w: AnalyzedWorkload, rule: Rule): [number, boolean][] {
  const only = portsOf(rule);
  return [...portProtocols(w)].filter(([port]) => only === undefined || only.has(port)).sort((a, b) => a[0] - b[0]);
}

export function httpFieldsOnTcp(ctx: Context): Finding[] {
  const out: Finding[] = [];
  for (const p of ctx.policies) {
    const action = p.spec.action ?? 'ALLOW';
    if ((action !== 'ALLOW' && action !== 'DENY') || isDryRun(p)) continue;
    const targets = selectedWorkloads(ctx, p);
    (p.spec.rules ?? []).forEach((rule, i) => {
      const fields = httpOnlyFields(rule);
      if (fields.length === 0) return;
      const f = action === 'ALLOW' ? allowOnTcp(p, rule, i, fields, targets) : denyOnTcp(p, rule, i, fields, targets);
      if (f !== undefined) out.push(f);
    });
  }
  return out;
}

function allowOnTcp(p: StoredResource<AuthorizationPolicy>, rule: Rule, i: number, fields: string[], targets: readonly AnalyzedWorkload[]): Finding | undefined {
  const tcpOnly = targets.filter((w) => {
    const ports = reachablePorts(w, rule);
    return ports.length > 0 && ports.every(([, tcp]) => tcp);
  });
  if (tcpOnly.length === 0) return undefined;
  const all = tcpOnly.length === targets.length;
  return finding(
    'WA003',
    p,
    `rule ${i} needs HTTP attributes (${fields.join(', ')}) but every port it can apply to on ${nameWorkloads(tcpOnly)} is TCP, where an ALLOW rule with HTTP-only fields never matches${all ? ': the rule allows nothing' : ''} (declare the port's protocol as HTTP, or use principals, namespaces, ipBlocks or ports)`,
    `spec.rules[${i}].${fields[0]}`,
  );
}

function denyOnTcp(p: StoredResource<AuthorizationPolicy>, rule: Rule, i: number, fields: string[], targets: readonly AnalyzedWorkload[]): Finding | undefined {
  const onTcp = targets.filter((w) => reachablePorts(w, rule).some(([, tcp]) => tcp));
  if (onTcp.length === 0) return undefined;
  const ports = [...new Set(onTcp.flatMap((w) => reachablePorts(w, rule).filter(([, tcp]) => tcp).map(([port]) => port)))].sort((a, b) => a - b);
  const rest = tcpRemainder(rule);
  const effect = rest.length === 0 ? 'so it denies every connection' : `so it denies every connection that meets its other conditions (${rest.join(', ')})`;
  return finding(
    'WA003',
    p,
    `rule ${i} uses HTTP attributes (${fields.join(', ')}) and applies to TCP port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} of ${nameWorkloads(onTcp)}: on TCP a DENY rule loses its HTTP-only fields, ${effect}`,
    `spec.rules[${i}].${fields[0]}`,
  );
}
