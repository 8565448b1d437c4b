// What an AuthorizationPolicy rule constrains, field by field: which fields exist only for HTTP
// (Istio's model.Generate drops them on TCP), and whether one rule matches every request another
// matches (the basis of WA004 and WA013).
import type { Condition, Operation, Rule, Source } from '../generated/types.js';

const HTTP_ONLY_SOURCE = new Set(['requestPrincipals', 'notRequestPrincipals']);
const HTTP_ONLY_OPERATION = new Set(['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths']);

/** `request.headers[...]` and `request.auth.*` exist only for HTTP. */
export const isHttpOnlyKey = (key: string): boolean => key.startsWith('request.headers[') || key.startsWith('request.auth.');

const setFields = (o: object): string[] => Object.entries(o).filter(([, v]) => v !== undefined).map(([k]) => k);

/** The HTTP-only fields a rule uses, as paths within the rule (`to[0].operation.paths`, `when[1]`). */
export function httpOnlyFields(rule: Rule): string[] {
  const out: string[] = [];
  (rule.from ?? []).forEach((f, i) => setFields(f.source).forEach((k) => HTTP_ONLY_SOURCE.has(k) && out.push(`from[${i}].source.${k}`)));
  (rule.to ?? []).forEach((t, i) => setFields(t.operation).forEach((k) => HTTP_ONLY_OPERATION.has(k) && out.push(`to[${i}].operation.${k}`)));
  (rule.when ?? []).forEach((c, i) => isHttpOnlyKey(c.key) && out.push(`when[${i}]`));
  return out;
}

/**
 * What is left of a rule on TCP once its HTTP-only fields are dropped, as Istio does for DENY,
 * AUDIT and CUSTOM rules: paths of the constraints that remain; empty when the rule then matches
 * every connection. A `from` or `to` entry left empty matches anything, and so does its list.
 */
export function tcpRemainder(rule: Rule): string[] {
  const out: string[] = [];
  const from = (rule.from ?? []).map((f, i) => setFields(f.source).filter((k) => !HTTP_ONLY_SOURCE.has(k)).map((k) => `from[${i}].source.${k}`));
  if (from.length > 0 && from.every((f) => f.length > 0)) out.push(...from.flat());
  const to = (rule.to ?? []).map((t, i) => setFields(t.operation).filter((k) => !HTTP_ONLY_OPERATION.has(k)).map((k) => `to[${i}].operation.${k}`));
  if (to.length > 0 && to.every((t) => t.length > 0)) out.push(...to.flat());
  (rule.when ?? []).forEach((c, i) => !isHttpOnlyKey(c.key) && out.push(`when[${i}]`));
  return out;
}

/**
 * The workload ports a rule can match on: the `ports` of its `to` entries when every entry names
 * some, else undefined (any port).
 */
export function portsOf(rule: Rule): ReadonlySet<number> | undefined {
  const to = rule.to ?? [];
  if (to.length === 0 || !to.every((t) => t.operation.ports !== undefined)) return undefined;
  return new Set(to.flatMap((t) => t.operation.ports!.map(Number)));
}

/** One side of a subsumption check: a rule and the namespace of its policy. */
export interface PlacedRule {
  readonly rule: Rule;
  readonly namespace: string;
}

/**
 * True when `outer` matches every request `inner` matches, judged field by field (so it may miss
 * a subsumption, never invent one): each constraint of `outer` must be implied by the same
 * constraint of `inner`, a positive list by a subset of it, a negative list by a superset.
 */
export function subsumes(outer: PlacedRule, inner: PlacedRule): boolean {
  const o = outer.rule;
  const i = inner.rule;
  if (o.from !== undefined && !(i.from !== undefined && i.from.every((f) => o.from!.some((g) => fieldsImply(f.source, inner.namespace, g.source, outer.namespace))))) return false;
  if (o.to !== undefined && !(i.to !== undefined && i.to.every((t) => o.to!.some((u) => fieldsImply(t.operation, inner.namespace, u.operation, outer.namespace))))) return false;
  return (o.when ?? []).every((c) => conditionImplied(c, i.when ?? []));
}

type Fields = Source | Operation;

/** Bare service accounts are in the policy's namespace; every other value means the same anywhere. */
function normalized(field: string, values: readonly string[], namespace: string): readonly string[] {
  if (field !== 'serviceAccounts' && field !== 'notServiceAccounts') return values;
  return values.map((v) => (v.includes('/') ? v : `${namespace}/${v}`));
}

function fieldsImply(inner: Fields, innerNs: string, outer: Fields, outerNs: string): boolean {
  for (const field of setFields(outer)) {
    const want = normalized(field, (outer as Record<string, readonly string[]>)[field]!, outerNs);
    const haveRaw = (inner as Record<string, readonly string[] | undefined>)[field];
    if (haveRaw === undefined) return false;
    const have = normalized(field, haveRaw, innerNs);
    const negative = /^not[A-Z]/.test(field);
    if (negative ? !want.every((v) => have.includes(v)) : !have.every((v) => covers(want, v, field === 'requestPrincipals'))) return false;
  }
  return true;
}

/**
 * A positive list covers a value it contains; with `*` (presence: non-empty) also any exact value.
 * A request principal `*` needs a non-empty issuer and subject, which only `iss/sub` pins down.
 */
function covers(list: readonly string[], v: string, requestPrincipal: boolean): boolean {
  if (list.includes(v)) return true;
  if (!list.includes('*') || v.includes('*') || v === '') return false;
  return !requestPrincipal || /^.+\/[^/]+$/.test(v);
}

function conditionImplied(c: Condition, inner: readonly Condition[]): boolean {
  const same = inner.filter((x) => x.key === c.key);
  const rp = c.key === 'request.auth.principal';
  if (c.values !== undefined && !same.some((x) => x.values !== undefined && x.values.every((v) => covers(c.values!, v, rp)))) return false;
  if (c.notValues !== undefined) {
    const excluded = new Set(same.flatMap((x) => x.notValues ?? []));
    if (!c.notValues.every((v) => excluded.has(v))) return false;
  }
  return true;
}
