// Renders a decision for people (`weft authz check`, access-log detail) and for scripts (`-o json`).
// The text names the deciding policy, the rule and, for a denial, the condition; it is for
// operators and logs, never for the denied client (which gets `RBAC: access denied`).
import type { ConditionReport, Decision } from './evaluate.js';
import type { MtlsResolution, PolicyRef } from './peer-authentication.js';

function name(p: PolicyRef | undefined): string {
  return p === undefined ? '(none)' : `${p.namespace}/${p.name}`;
}

function list(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}

function actual(v: ConditionReport['actual']): string {
  if (v === null) return 'none';
  return Array.isArray(v) ? list(v) : JSON.stringify(v);
}

/** One line describing a condition: what the policy expects and what the request had. */
export function describeCondition(c: ConditionReport): string {
  const expect: string[] = [];
  if (c.values !== undefined) expect.push(`one of ${list(c.values)}`);
  if (c.notValues !== undefined) expect.push(`none of ${list(c.notValues)}`);
  return `${c.field} expects ${expect.join(' and ')}; the request has ${actual(c.actual)} (${c.path})`;
}

function headline(d: Decision): string {
  const rule = d.ruleIndex === undefined ? '' : `, rule ${d.ruleIndex}`;
  switch (d.reason) {
    case 'no-allow-policy':
      return 'ALLOW: no ALLOW policy applies to this workload';
    case 'allow-match':
      return `ALLOW by ALLOW policy ${name(d.policy)}${rule}`;
    case 'custom-match':
      return `DENY by CUSTOM policy ${name(d.policy)}${rule}`;
    case 'custom-denied':
      return `DENY by CUSTOM policy ${name(d.policy)}${rule}: provider ${JSON.stringify(d.custom?.provider)} denied (${d.customStatus})`;
    case 'custom-error':
      return `DENY by CUSTOM policy ${name(d.policy)}${rule}: provider ${JSON.stringify(d.custom?.provider)} failed, answered ${d.customStatus} (statusOnError)`;
    case 'deny-match':
      return `DENY by DENY policy ${name(d.policy)}${rule}`;
    case 'no-allow-match':
      return d.ruleIndex === undefined && d.failed === undefined
        ? `DENY: no ALLOW policy matched; ${name(d.policy)} has no rules, so it allows nothing`
        : `DENY: no ALLOW policy matched; nearest: ${name(d.policy)}${rule}`;
  }
}

/**
 * The decision as text lines: the verdict with its policy and rule, then the condition that failed
 * (or, for a DENY match, the conditions that matched), fail-closed reasons, AUDIT and dry-run results.
 * @example explainDecision(d) -> ['DENY by DENY policy foo/deny-admin, rule 0', '  matched: operation.paths expects one of ["/admin"]; the request has "/admin" (spec.rules[0].to[0].operation.paths)']
 */
export function explainDecision(d: Decision): string[] {
  const lines = [headline(d)];
  if (d.failClosed !== undefined) lines.push(`  fail-closed: ${d.failClosed}`);
  if (d.customReason !== undefined) lines.push(`  provider: ${d.customReason}`);
  const c = d.custom;
  if (c !== undefined && d.action !== 'CUSTOM') {
    const by = `CUSTOM policy ${name(c.policy)}, rule ${c.ruleIndex}`;
    if (c.outcome === undefined) lines.push(`  custom: ${by} sends the request to provider ${JSON.stringify(c.provider)} first; this verdict stands only if it allows`);
    else lines.push(`  custom: provider ${JSON.stringify(c.provider)} ${c.outcome === 'allowed' ? 'allowed' : 'failed and failOpen let the request on'} (${by})`);
  }
  if (d.failed !== undefined) lines.push(`  failed: ${describeCondition(d.failed)}`);
  if (d.matched !== undefined) {
    if (d.matched.length === 0 && d.failClosed === undefined) lines.push('  matched: the rule has no conditions, so it matches every request');
    for (const c of d.matched) lines.push(`  matched: ${describeCondition(c)}`);
  }
  if (d.httpFieldsIgnored === true) lines.push('  note: on TCP, Istio leaves the HTTP-only fields (hosts, methods, paths, requestPrincipals, request.headers, request.auth.*) out of DENY, AUDIT and CUSTOM rules, so the rule matched more');
  if (d.pathParametersRemoved === true) lines.push('  note: matched on the path with its ";" parameters removed, as servlet containers read it');
  for (const a of d.auditMatches) lines.push(`  audit: ${name(a.policy)}, rule ${a.ruleIndex}`);
  for (const r of d.dryRun) {
    const by = r.policy === undefined ? '' : ` by ${name(r.policy)}, rule ${r.ruleIndex}`;
    lines.push(`  dry-run ${r.action}: would ${r.allow ? 'allow' : 'deny'}${by}`);
  }
  return lines;
}

/** The JSON form of a decision (`weft authz check -o json`): stable keys, plain data. */
export interface DecisionJson {
  readonly decision: 'allow' | 'deny';
  readonly action: Decision['action'];
  readonly reason: Decision['reason'];
  readonly policy: string | null;
  readonly ruleIndex: number | null;
  readonly failed: ConditionReport | null;
  readonly matched: readonly ConditionReport[];
  readonly failClosed: string | null;
  /** The CUSTOM stage: the provider a CUSTOM policy sent the request to, and its answer once asked. */
  readonly custom: { readonly provider: string; readonly policy: string; readonly ruleIndex: number; readonly outcome: 'allowed' | 'failed-open' | 'denied' | 'error' | 'not-asked' } | null;
  readonly pathParametersRemoved: boolean;
  readonly httpFieldsIgnored: boolean;
  readonly auditMatches: readonly { readonly policy: string; readonly ruleIndex: number }[];
  readonly dryRun: readonly { readonly action: 'ALLOW' | 'DENY'; readonly decision: 'allow' | 'deny'; readonly policy: string | null; readonly ruleIndex: number | null }[];
}

export function decisionToJson(d: Decision): DecisionJson {
  return {
    decision: d.allow ? 'allow' : 'deny',
    action: d.action,
    reason: d.reason,
    policy: d.policy === undefined ? null : name(d.policy),
    ruleIndex: d.ruleIndex ?? null,
    failed: d.failed ?? null,
    matched: d.matched ?? [],
    failClosed: d.failClosed ?? null,
    custom: d.custom === undefined ? null : { provider: d.custom.provider, policy: name(d.custom.policy), ruleIndex: d.custom.ruleIndex, outcome: d.reason === 'custom-denied' ? 'denied' : d.reason === 'custom-error' ? 'error' : d.custom.outcome ?? 'not-asked' },
    pathParametersRemoved: d.pathParametersRemoved === true,
    httpFieldsIgnored: d.httpFieldsIgnored === true,
    auditMatches: d.auditMatches.map((a) => ({ policy: name(a.policy), ruleIndex: a.ruleIndex })),
    dryRun: d.dryRun.map((r) => ({ action: r.action, decision: r.allow ? 'allow' : 'deny', policy: r.policy === undefined ? null : name(r.policy), ruleIndex: r.ruleIndex ?? null })),
  };
}

/** One line for an mTLS mode resolution. */
export function explainMtls(port: number, m: MtlsResolution): string {
  const from = m.policy === undefined ? 'the MeshConfig default (mtls.mode)' : `PeerAuthentication ${name(m.policy)} (${m.level} level${m.portLevel ? `, portLevelMtls ${port}` : ''})`;
  return `port ${port}: ${m.mode}, from ${from}`;
}
