// One AuthorizationPolicy rule compiled into checks: OR across `from` entries, OR across `to`
// entries, AND across the fields of one entry and across `when` conditions, OR across the values
// of one field and "none may match" across `not...` values (authorization_policy.proto, "Rule").
// An absent attribute fails a positive check and passes a negative one, as in Istio.
//
// A header sent more than once is matched fail-closed, unlike Envoy (which matches the values
// joined with ","): each value and the joined value are the readings an app might take, so a DENY,
// AUDIT or CUSTOM condition holds if it holds for any reading, and an ALLOW condition only if it
// holds for every reading. A repeated header can make a denial match, never an allowance.
//
// TCP (Istio pilot/pkg/security/authz/model, Generate with forTCP): an ALLOW rule that names any
// HTTP-only field cannot match a TCP connection at all; a DENY, AUDIT or CUSTOM rule loses only
// its HTTP-only checks and so matches more widely (`methods: [GET]` alone denies all TCP).
import type { Condition, Rule } from '../config/generated/types.js';
import { conditionKind, OPERATION_FIELDS, SOURCE_FIELDS, type FieldContext, type FieldKind, type IndexKey, type Predicate } from './fields.js';
import type { RequestView } from './request-view.js';

/** One field of a rule, compiled. */
export interface Check {
  /** As written in the policy: `source.principals`, `operation.notPaths`, `request.headers[x-user]`. */
  readonly field: string;
  /** Where in the policy: `spec.rules[0].from[1].source.principals`. */
  readonly path: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
  readonly kind: FieldKind;
  readonly test: (r: RequestView) => boolean;
  /** For a positive check whose every value pins an index key: the keys (one must hold for the check to hold). */
  readonly indexKeys?: readonly IndexKey[];
}

/** One rule for one protocol. `from`/`to` undefined: any source/operation. An entry with no checks matches everything. */
export interface CompiledRule {
  readonly index: number;
  readonly from: readonly (readonly Check[])[] | undefined;
  readonly to: readonly (readonly Check[])[] | undefined;
  readonly when: readonly Check[];
}

/** A rule compiled for HTTP and for TCP (null: the rule cannot match TCP). */
export interface RuleVariants {
  readonly http: CompiledRule;
  readonly tcp: CompiledRule | null;
}

/** What made a rule impossible to compile, and where. */
export interface CompileProblem {
  readonly path: string;
  readonly message: string;
}

function anyMatch(value: unknown, predicates: readonly Predicate[]): boolean {
  if (Array.isArray(value)) {
    for (const v of value) for (const p of predicates) if ((p as (x: unknown) => boolean)(v)) return true;
    return false;
  }
  for (const p of predicates) if ((p as (x: unknown) => boolean)(value)) return true;
  return false;
}

function makeTest(kind: FieldKind, pos: readonly Predicate[] | undefined, neg: readonly Predicate[] | undefined): (r: RequestView) => boolean {
  const read = kind.read;
  if (neg === undefined) {
    const p = pos!;
    if (p.length === 1) {
      const one = p[0] as (x: unknown) => boolean;
      return (r) => {
        const v = read(r);
        return v !== undefined && (Array.isArray(v) ? v.some(one) : one(v));
      };
    }
    return (r) => {
      const v = read(r);
      return v !== undefined && anyMatch(v, p);
    };
  }
  if (pos === undefined) {
    return (r) => {
      const v = read(r);
      return v === undefined || !anyMatch(v, neg);
    };
  }
  return (r) => {
    const v = read(r);
    return v !== undefined && anyMatch(v, pos) && !anyMatch(v, neg);
  };
}

function anyOf(value: string, predicates: readonly Predicate[]): boolean {
  for (const p of predicates) if ((p as (x: string) => boolean)(value)) return true;
  return false;
}

/** The separator RFC 9110 §5.3 joins a repeated field's values with. */
export const FIELD_JOINER = ', ';

/**
 * A check on a repeated field (see the file header): `allowLike` for ALLOW rules (every reading
 * must hold), otherwise any reading is enough. One value behaves exactly as makeTest.
 */
function repeatedTest(kind: FieldKind, pos: readonly Predicate[] | undefined, neg: readonly Predicate[] | undefined, allowLike: boolean): (r: RequestView) => boolean {
  const read = kind.read;
  const one = (s: string): boolean => (pos === undefined || anyOf(s, pos)) && (neg === undefined || !anyOf(s, neg));
  return (r) => {
    const v = read(r) as string | readonly string[] | undefined;
    if (v === undefined || (Array.isArray(v) && v.length === 0)) return pos === undefined;
    if (typeof v === 'string') return one(v);
    const joined = v.join(FIELD_JOINER);
    return allowLike ? v.every(one) && one(joined) : v.some(one) || one(joined);
  };
}

function compileValues(kind: FieldKind, values: readonly string[], ctx: FieldContext, path: string, problems: CompileProblem[]): Predicate[] {
  const out: Predicate[] = [];
  values.forEach((v, i) => {
    const compiled = typeof v === 'string' && v !== '' ? kind.compile(v, ctx) : 'must be a non-empty string';
    if (typeof compiled === 'string') problems.push({ path: `${path}[${i}]`, message: compiled });
    else out.push(...compiled);
  });
  return out;
}

function keysOf(kind: FieldKind, values: readonly string[], ctx: FieldContext): readonly IndexKey[] | undefined {
  if (kind.indexKeys === undefined) return undefined;
  const out: IndexKey[] = [];
  for (const v of values) {
    const keys = typeof v === 'string' ? kind.indexKeys(v, ctx) : undefined;
    if (keys === undefined) return undefined;
    out.push(...keys);
  }
  return out;
}

function isList(v: unknown): v is readonly string[] {
  return Array.isArray(v);
}

function compileEntry(
  entry: Readonly<Record<string, unknown>> | undefined,
  fields: Readonly<Record<string, readonly [FieldKind, boolean]>>,
  prefix: string,
  label: 'source' | 'operation',
  ctx: FieldContext,
  problems: CompileProblem[],
): Check[] {
  if (entry === undefined || entry === null || typeof entry !== 'object') {
    problems.push({ path: prefix, message: `each entry needs a ${label}` });
    return [];
  }
  const checks: Check[] = [];
  for (const [name, list] of Object.entries(entry)) {
    const spec = fields[name];
    const path = `${prefix}.${name}`;
    if (spec === undefined) {
      problems.push({ path, message: `${label} field ${JSON.stringify(name)} is not one weft knows` });
      continue;
    }
    if (!isList(list)) {
      problems.push({ path, message: 'must be a list of strings' });
      continue;
    }
    if (list.length === 0) continue; // an empty list is an unset field, as in proto3
    const [kind, negated] = spec;
    const predicates = compileValues(kind, list, ctx, path, problems);
    const indexKeys = negated ? undefined : keysOf(kind, list, ctx);
    checks.push({
      field: `${label}.${name}`,
      path,
      ...(negated ? { notValues: list } : { values: list }),
      kind,
      test: negated ? makeTest(kind, undefined, predicates) : makeTest(kind, predicates, undefined),
      ...(indexKeys === undefined ? {} : { indexKeys }),
    });
  }
  if (checks.length === 0 && !problems.some((p) => p.path.startsWith(prefix))) {
    problems.push({ path: prefix, message: `an empty ${label} is not allowed (Istio rejects it): leave the entry out to match any` });
  }
  return checks;
}

function compileCondition(c: Condition, path: string, ctx: FieldContext, problems: CompileProblem[], allowLike: boolean): Check | undefined {
  const kind = typeof c?.key === 'string' ? conditionKind(c.key) : 'a condition needs a key';
  if (typeof kind === 'string') {
    problems.push({ path: `${path}.key`, message: kind });
    return undefined;
  }
  const values = isList(c.values) && c.values.length > 0 ? c.values : undefined;
  const notValues = isList(c.notValues) && c.notValues.length > 0 ? c.notValues : undefined;
  if (values === undefined && notValues === undefined) {
    problems.push({ path, message: 'a condition needs values or notValues' });
    return undefined;
  }
  const pos = values === undefined ? undefined : compileValues(kind, values, ctx, `${path}.values`, problems);
  const neg = notValues === undefined ? undefined : compileValues(kind, notValues, ctx, `${path}.notValues`, problems);
  return {
    field: c.key,
    path,
    ...(values === undefined ? {} : { values }),
    ...(notValues === undefined ? {} : { notValues }),
    kind,
    test: kind.repeated === true ? repeatedTest(kind, pos, neg, allowLike) : makeTest(kind, pos, neg),
  };
}

function entries<T>(list: readonly T[] | undefined, path: string, problems: CompileProblem[]): readonly T[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push({ path, message: 'a present list must have at least one entry (Istio rejects an empty one)' });
    return undefined;
  }
  return list;
}

function withoutHttp(entries: readonly (readonly Check[])[] | undefined): readonly (readonly Check[])[] | undefined {
  return entries?.map((checks) => checks.filter((c) => !c.kind.httpOnly));
}

function usesHttp(rule: CompiledRule): boolean {
  const all = [...(rule.from ?? []).flat(), ...(rule.to ?? []).flat(), ...rule.when];
  return all.some((c) => c.kind.httpOnly);
}

/**
 * Compiles `spec.rules[index]`; `problems` collects everything that cannot be compiled (the caller
 * then fails the whole policy closed).
 */
export function compileRule(rule: Rule, index: number, action: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM', ctx: FieldContext, problems: CompileProblem[]): RuleVariants {
  const base = `spec.rules[${index}]`;
  const known = new Set(['from', 'to', 'when']);
  for (const k of Object.keys(rule ?? {})) if (!known.has(k)) problems.push({ path: `${base}.${k}`, message: `rule field ${JSON.stringify(k)} is not one weft knows` });
  const from = entries(rule?.from, `${base}.from`, problems)?.map((f, i) =>
    compileEntry(f?.source as Readonly<Record<string, unknown>> | undefined, SOURCE_FIELDS, `${base}.from[${i}].source`, 'source', ctx, problems),
  );
  const to = entries(rule?.to, `${base}.to`, problems)?.map((t, i) =>
    compileEntry(t?.operation as Readonly<Record<string, unknown>> | undefined, OPERATION_FIELDS, `${base}.to[${i}].operation`, 'operation', ctx, problems),
  );
  const when = (entries(rule?.when, `${base}.when`, problems) ?? [])
    .map((c, i) => compileCondition(c, `${base}.when[${i}]`, ctx, problems, action === 'ALLOW'))
    .filter((c): c is Check => c !== undefined);
  const http: CompiledRule = { index, from, to, when };
  let tcp: CompiledRule | null;
  if (!usesHttp(http)) tcp = http;
  else if (action === 'ALLOW') tcp = null;
  else tcp = { index, from: withoutHttp(from), to: withoutHttp(to), when: when.filter((c) => !c.kind.httpOnly) };
  return { http, tcp };
}

/** A rule matching everything: what a policy that cannot be compiled becomes (as a DENY). */
export function matchAllRule(index = 0): CompiledRule {
  return { index, from: undefined, to: undefined, when: [] };
}

function entryMatches(checks: readonly Check[], r: RequestView): boolean {
  for (let i = 0; i < checks.length; i++) if (!checks[i]!.test(r)) return false;
  return true;
}

function anyEntry(list: readonly (readonly Check[])[], r: RequestView): boolean {
  for (let i = 0; i < list.length; i++) if (entryMatches(list[i]!, r)) return true;
  return false;
}

/** True when the request matches the rule. */
export function ruleMatches(rule: CompiledRule, r: RequestView): boolean {
  if (rule.from !== undefined && !anyEntry(rule.from, r)) return false;
  if (rule.to !== undefined && !anyEntry(rule.to, r)) return false;
  const when = rule.when;
  for (let i = 0; i < when.length; i++) if (!when[i]!.test(r)) return false;
  return true;
}

/** Why a rule did or did not match: the checks that held, and the first that failed. */
export interface RuleDiagnosis {
  readonly passed: readonly Check[];
  readonly failed: Check | undefined;
}

function diagnoseEntries(list: readonly (readonly Check[])[], r: RequestView): RuleDiagnosis {
  let best: RuleDiagnosis | undefined;
  for (const checks of list) {
    const passed: Check[] = [];
    let failed: Check | undefined;
    for (const c of checks) {
      if (c.test(r)) passed.push(c);
      else {
        failed = c;
        break;
      }
    }
    if (failed === undefined) return { passed, failed };
    if (best === undefined || passed.length > best.passed.length) best = { passed, failed };
  }
  return best!;
}

function countEntries(list: readonly (readonly Check[])[], r: RequestView): number {
  let best = -1;
  for (const checks of list) {
    let n = 0;
    while (n < checks.length && checks[n]!.test(r)) n++;
    if (n === checks.length) return n;
    if (n > best) best = n;
  }
  return -1 - best;
}

/**
 * How near a request comes to a rule without allocating: the number of checks that held before
 * the first failure (what diagnoseRule would put in `passed`), to pick the rule worth explaining.
 */
export function ruleScore(rule: CompiledRule, r: RequestView): number {
  let passed = 0;
  for (const list of [rule.from, rule.to]) {
    if (list === undefined) continue;
    const n = countEntries(list, r);
    if (n < 0) return passed - 1 - n;
    passed += n;
  }
  for (const c of rule.when) {
    if (!c.test(r)) return passed;
    passed++;
  }
  return passed;
}

/** Explains a rule against a request (off the hot path: called only to describe a decision). */
export function diagnoseRule(rule: CompiledRule, r: RequestView): RuleDiagnosis {
  const passed: Check[] = [];
  for (const list of [rule.from, rule.to]) {
    if (list === undefined) continue;
    const d = diagnoseEntries(list, r);
    passed.push(...d.passed);
    if (d.failed !== undefined) return { passed, failed: d.failed };
  }
  for (const c of rule.when) {
    if (!c.test(r)) return { passed, failed: c };
    passed.push(c);
  }
  return { passed, failed: undefined };
}
