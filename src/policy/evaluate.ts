// Implements Istio's AuthorizationPolicy decision (https://istio.io/latest/docs/concepts/security/#implicit-enablement
// and authorization_policy.proto): CUSTOM, then DENY, then ALLOW. "If there are any CUSTOM policies
// that match the request, evaluate and deny the request if the evaluation result is deny. If there
// are any DENY policies that match the request, deny the request. If there are no ALLOW policies
// for the workload, allow the request. If any of the ALLOW policies match the request, allow the
// request. Deny the request." AUDIT policies only mark the request; dry-run policies are evaluated
// and reported, never enforced (and a dry-run ALLOW does not count as "an ALLOW policy").
import type { RequestAttributes } from './attributes.js';
import type { CompiledPolicies, PolicySet } from './compile.js';
import { diagnoseRule, ruleScore, type Check } from './compile-rule.js';
import { allMatches, firstMatch, nearCandidates, type IndexedRule } from './index-rules.js';
import type { PolicyRef } from './peer-authentication.js';
import { RequestView } from './request-view.js';

/** A field of a rule with what the policy expects and what the request had. */
export interface ConditionReport {
  /** As written in the policy: `source.principals`, `operation.paths`, `request.headers[x-user]`, or `protocol`. */
  readonly field: string;
  /** Where in the policy: `spec.rules[0].from[0].source.principals`. */
  readonly path: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
  /** The request's value; null when it had none (plaintext, no JWT, header absent...). */
  readonly actual: string | number | boolean | readonly string[] | null;
}

export interface RuleMatch {
  readonly policy: PolicyRef;
  readonly ruleIndex: number;
}

/** What the dry-run policies of one action would have decided. */
export interface DryRunResult {
  readonly action: 'ALLOW' | 'DENY';
  readonly allow: boolean;
  readonly policy?: PolicyRef;
  readonly ruleIndex?: number;
}

export type DecisionReason = 'custom-match' | 'custom-denied' | 'custom-error' | 'deny-match' | 'no-allow-policy' | 'allow-match' | 'no-allow-match';

/** A CUSTOM policy selected the request: its provider is asked first, and the decision stands only if it allows. */
export interface CustomCheck {
  readonly provider: string;
  readonly policy: PolicyRef;
  readonly ruleIndex: number;
  /** The conditions of the selecting rule (all held). */
  readonly matched: readonly ConditionReport[];
  /** Once asked: what the provider answered (failed-open: it failed and failOpen let the request on). */
  readonly outcome?: 'allowed' | 'failed-open';
}

/** What the provider answered, as the policy engine needs it. */
export type CustomResult =
  | { readonly allowed: true; readonly failedOpen?: boolean }
  | { readonly allowed: false; readonly error: boolean; readonly status: number; readonly reason: string };

/** The outcome of one authorization and everything needed to explain it. */
export interface Decision {
  readonly allow: boolean;
  /** The stage that decided: CUSTOM, DENY, ALLOW, or NONE when no ALLOW policy applies. */
  readonly action: 'CUSTOM' | 'DENY' | 'ALLOW' | 'NONE';
  readonly reason: DecisionReason;
  /** The deciding policy; for no-allow-match, the ALLOW policy whose rule came nearest. */
  readonly policy?: PolicyRef;
  readonly ruleIndex?: number;
  /** no-allow-match: the first condition the nearest rule failed. */
  readonly failed?: ConditionReport;
  /** custom-match / deny-match: the conditions of the matching rule (all held). */
  readonly matched?: readonly ConditionReport[];
  /** Why the deciding policy denies although not written as a DENY (no authorizer, could not be compiled). */
  readonly failClosed?: string;
  /** Enforced AUDIT policies the request matched (each with its first matching rule). */
  readonly auditMatches: readonly RuleMatch[];
  readonly dryRun: readonly DryRunResult[];
  /** TCP: the deciding rule names HTTP-only fields, which Istio leaves out of DENY/AUDIT/CUSTOM rules on TCP (so it matched more). */
  readonly httpFieldsIgnored?: boolean;
  /** True when the denial came from matching the path with its `;` parameters removed. */
  readonly pathParametersRemoved?: boolean;
  /** CUSTOM selected the request (see CustomCheck); the proxy asks the provider, then applyCustomResult. */
  readonly custom?: CustomCheck;
  /** custom-denied / custom-error: the status the client gets and the provider's reason. */
  readonly customStatus?: number;
  readonly customReason?: string;
}

function report(c: Check, r: RequestView): ConditionReport {
  const v = (c.kind.show ?? c.kind.read)(r);
  const actual = v === undefined ? null : Array.isArray(v) ? [...(v as string[])] : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
  return {
    field: c.field,
    path: c.path,
    ...(c.values === undefined ? {} : { values: c.values }),
    ...(c.notValues === undefined ? {} : { notValues: c.notValues }),
    actual,
  };
}

function refOf(set: PolicySet, policy: number): PolicyRef {
  return set.policies[policy]!.ref;
}

function nearestAllow(compiled: CompiledPolicies, r: RequestView, tcp: boolean): Pick<Decision, 'policy' | 'ruleIndex' | 'failed'> {
  const set = compiled.allow;
  let best: IndexedRule | undefined;
  let bestScore = -1;
  for (const entry of nearCandidates(tcp ? set.tcp : set.http, r, 16)) {
    const score = ruleScore(entry.rule, r);
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  if (best !== undefined) {
    const failed = diagnoseRule(best.rule, r).failed;
    return { policy: refOf(set, best.policy), ruleIndex: best.rule.index, ...(failed === undefined ? {} : { failed: report(failed, r) }) };
  }
  const dropped = tcp ? set.policies.find((p) => p.httpOnlyRules.length > 0) : undefined;
  if (dropped !== undefined) {
    const ruleIndex = dropped.httpOnlyRules[0]!;
    return { policy: dropped.ref, ruleIndex, failed: { field: 'protocol', path: `spec.rules[${ruleIndex}]`, values: ['http'], actual: 'tcp' } };
  }
  return { policy: set.policies[0]!.ref };
}

function dryRunResults(compiled: CompiledPolicies, r: RequestView, tcp: boolean): DryRunResult[] {
  const out: DryRunResult[] = [];
  const deny = compiled.dryRunDeny;
  if (deny.policies.length > 0) {
    const m = firstMatch(tcp ? deny.tcp : deny.http, r);
    out.push(m === undefined ? { action: 'DENY', allow: true } : { action: 'DENY', allow: false, policy: refOf(deny, m.policy), ruleIndex: m.rule.index });
  }
  const allow = compiled.dryRunAllow;
  if (allow.policies.length > 0) {
    const m = firstMatch(tcp ? allow.tcp : allow.http, r);
    out.push(m === undefined ? { action: 'ALLOW', allow: false } : { action: 'ALLOW', allow: true, policy: refOf(allow, m.policy), ruleIndex: m.rule.index });
  }
  return out;
}

const NONE: readonly never[] = Object.freeze([]);

function denyMatch(set: PolicySet, action: 'CUSTOM' | 'DENY', r: RequestView, tcp: boolean): Omit<Decision, 'auditMatches' | 'dryRun'> | undefined {
  if (set.policies.length === 0) return undefined;
  const m = firstMatch(tcp ? set.tcp : set.http, r);
  if (m === undefined) return undefined;
  const policy = set.policies[m.policy]!;
  const http = policy.http.find((x) => x.index === m.rule.index);
  return {
    allow: false,
    action,
    reason: action === 'CUSTOM' ? 'custom-match' : 'deny-match',
    policy: policy.ref,
    ruleIndex: m.rule.index,
    matched: diagnoseRule(m.rule, r).passed.map((c) => report(c, r)),
    ...(policy.failClosed === undefined ? {} : { failClosed: policy.failClosed }),
    ...(tcp && http !== m.rule ? { httpFieldsIgnored: true } : {}),
  };
}

function customSelection(compiled: CompiledPolicies, r: RequestView, tcp: boolean): CustomCheck | Omit<Decision, 'auditMatches' | 'dryRun'> | undefined {
  const set = compiled.customCheck;
  if (set.policies.length === 0) return undefined;
  const m = firstMatch(tcp ? set.tcp : set.http, r);
  if (m === undefined) return undefined;
  const policy = set.policies[m.policy]!;
  const matched = diagnoseRule(m.rule, r).passed.map((c) => report(c, r));
  if (tcp) {
    // Istio would send the connection to a gRPC provider's network filter; weft does not yet.
    const failClosed = `weft does not send TCP connections to an ext_authz provider yet (provider ${JSON.stringify(policy.provider)}), so connections its rules match are denied`;
    return { allow: false, action: 'CUSTOM', reason: 'custom-match', policy: policy.ref, ruleIndex: m.rule.index, matched, failClosed };
  }
  return { provider: policy.provider!, policy: policy.ref, ruleIndex: m.rule.index, matched };
}

function decide(compiled: CompiledPolicies, r: RequestView): Decision {
  const tcp = r.attributes.protocol === 'tcp';
  const audit = compiled.audit.policies.length === 0 ? NONE : allMatches(tcp ? compiled.audit.tcp : compiled.audit.http, r).map((m) => ({ policy: refOf(compiled.audit, m.policy), ruleIndex: m.rule.index }));
  const dryRun = compiled.dryRunDeny.policies.length + compiled.dryRunAllow.policies.length === 0 ? NONE : dryRunResults(compiled, r, tcp);
  const failed = denyMatch(compiled.custom, 'CUSTOM', r, tcp);
  if (failed !== undefined) return { ...failed, auditMatches: audit, dryRun };
  // CUSTOM's rules select what the provider sees; the DENY and ALLOW stages are decided as well,
  // and their verdict stands only if the provider allows (a request must pass every stage).
  const selected = customSelection(compiled, r, tcp);
  if (selected !== undefined && 'allow' in selected) return { ...selected, auditMatches: audit, dryRun };
  const custom = selected === undefined ? {} : { custom: selected };
  const denied = denyMatch(compiled.deny, 'DENY', r, tcp);
  if (denied !== undefined) return { ...denied, ...custom, auditMatches: audit, dryRun };
  if (!compiled.hasAllow) return { allow: true, action: 'NONE', reason: 'no-allow-policy', ...custom, auditMatches: audit, dryRun };
  const m = firstMatch(tcp ? compiled.allow.tcp : compiled.allow.http, r);
  if (m !== undefined) {
    return { allow: true, action: 'ALLOW', reason: 'allow-match', policy: refOf(compiled.allow, m.policy), ruleIndex: m.rule.index, ...custom, auditMatches: audit, dryRun };
  }
  return { allow: false, action: 'ALLOW', reason: 'no-allow-match', ...nearestAllow(compiled, r, tcp), ...custom, auditMatches: audit, dryRun };
}

/**
 * The decision once the provider a CUSTOM policy selected has answered: its denial (or its
 * failure without failOpen) decides at the CUSTOM stage, before DENY and ALLOW; its allowance
 * leaves the DENY/ALLOW verdict standing. Pure.
 */
export function applyCustomResult(decision: Decision, result: CustomResult): Decision {
  const custom = decision.custom;
  if (custom === undefined) return decision;
  if (result.allowed) return { ...decision, custom: { ...custom, outcome: result.failedOpen === true ? 'failed-open' : 'allowed' } };
  return {
    allow: false,
    action: 'CUSTOM',
    reason: result.error ? 'custom-error' : 'custom-denied',
    policy: custom.policy,
    ruleIndex: custom.ruleIndex,
    matched: custom.matched,
    custom,
    customStatus: result.status,
    customReason: result.reason,
    auditMatches: decision.auditMatches,
    dryRun: decision.dryRun,
  };
}

/** The path with `;` parameters removed from every segment (`/a;x=1/b;y` -> `/a/b`). */
export function withoutPathParameters(path: string): string {
  return path.replace(/;[^/]*/g, '');
}

/**
 * Decides one request or connection. Pure: the same compiled snapshot and attributes always give
 * the same decision. A path with `;` parameters is decided twice, as sent and with the parameters
 * removed (as Tomcat, Jetty and Spring read it), and allowed only if both are allowed: a DENY on
 * `/admin` then also stops `/admin;x=y`, which Istio lets through.
 * @example evaluate(compiled, { protocol: 'http', sourcePrincipal: 'cluster.local/ns/foo/sa/web', method: 'GET', path: '/' }).allow
 */
export function evaluate(compiled: CompiledPolicies, attributes: RequestAttributes): Decision {
  const spaceDelimited = compiled.spaceDelimitedClaims;
  const view = new RequestView(attributes, spaceDelimited);
  const decision = decide(compiled, view);
  const path = view.path;
  if (!decision.allow || attributes.protocol !== 'http' || path === undefined || !path.includes(';')) return decision;
  const bare = withoutPathParameters(path);
  if (bare === path) return decision;
  const second = decide(compiled, new RequestView(attributes, spaceDelimited, bare));
  if (second.allow) return decision.custom === undefined && second.custom !== undefined ? { ...decision, custom: second.custom } : decision;
  const custom = second.custom ?? decision.custom;
  return { ...second, ...(custom === undefined ? {} : { custom }), pathParametersRemoved: true };
}
