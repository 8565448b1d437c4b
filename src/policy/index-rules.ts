// The rules of one action's policies in evaluation order (policy namespace/name, then rule
// index), indexed so a decision looks only at rules that can match. A rule is filed under the
// values its checks pin down: the peer's `<namespace>/<service-account>` (exact principals,
// `*/ns/x/sa/y`, serviceAccounts), its namespace (namespaces, `td/ns/x/*`), or the first path
// segment (paths). Every `from` entry (or every `to` entry) must pin one, else the rule is kept in
// the list scanned for every request. The first match in evaluation order is the same as with a
// full scan: each candidate list is in order, and the earliest match across lists wins.
import type { CompiledPolicy } from './compile.js';
import { ruleMatches, type Check, type CompiledRule } from './compile-rule.js';
import { firstSegment, type IndexKey } from './fields.js';
import type { RequestView } from './request-view.js';

export interface IndexedRule {
  /** Index into the action's policy list. */
  readonly policy: number;
  readonly rule: CompiledRule;
  /** Position in evaluation order. */
  readonly order: number;
}

export interface PolicyIndex {
  /** Every rule, in order. */
  readonly rules: readonly IndexedRule[];
  readonly bySa: ReadonlyMap<string, readonly IndexedRule[]>;
  readonly byNs: ReadonlyMap<string, readonly IndexedRule[]>;
  readonly byPath: ReadonlyMap<string, readonly IndexedRule[]>;
  readonly residual: readonly IndexedRule[];
}

function entryKeys(checks: readonly Check[], kinds: readonly IndexKey['kind'][]): readonly IndexKey[] | undefined {
  for (const kind of kinds) {
    const c = checks.find((x) => x.indexKeys !== undefined && x.indexKeys.every((k) => k.kind === kind));
    if (c !== undefined) return c.indexKeys;
  }
  const mixed = checks.find((x) => x.indexKeys !== undefined);
  return mixed?.indexKeys;
}

function ruleKeys(rule: CompiledRule): readonly IndexKey[] | undefined {
  for (const [entries, kinds] of [[rule.from, ['sa', 'ns']], [rule.to, ['path']]] as const) {
    if (entries === undefined) continue;
    const keys: IndexKey[] = [];
    let all = true;
    for (const checks of entries) {
      const k = entryKeys(checks, kinds);
      if (k === undefined) {
        all = false;
        break;
      }
      keys.push(...k);
    }
    if (all && keys.length > 0) return keys;
  }
  return undefined;
}

function file(map: Map<string, IndexedRule[]>, key: string, entry: IndexedRule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [entry]);
  else if (list[list.length - 1] !== entry) list.push(entry);
}

export function buildIndex(policies: readonly CompiledPolicy[], protocol: 'http' | 'tcp'): PolicyIndex {
  const rules: IndexedRule[] = [];
  const bySa = new Map<string, IndexedRule[]>();
  const byNs = new Map<string, IndexedRule[]>();
  const byPath = new Map<string, IndexedRule[]>();
  const residual: IndexedRule[] = [];
  policies.forEach((p, policy) => {
    for (const rule of p[protocol]) {
      const entry = { policy, rule, order: rules.length };
      rules.push(entry);
      const keys = ruleKeys(rule);
      if (keys === undefined) {
        residual.push(entry);
        continue;
      }
      for (const k of keys) file(k.kind === 'sa' ? bySa : k.kind === 'ns' ? byNs : byPath, k.key, entry);
    }
  });
  return { rules, bySa, byNs, byPath, residual };
}

const EMPTY: readonly IndexedRule[] = [];

/**
 * The candidate lists for a request, each in evaluation order: by service account, namespace,
 * first path segment, and the residual list. A principal that is not of the workload form
 * (`td/ns/x/sa/y`) gets the full list, since the keys are only sound for that form.
 */
function candidates(index: PolicyIndex, r: RequestView): readonly [readonly IndexedRule[], readonly IndexedRule[], readonly IndexedRule[], readonly IndexedRule[]] {
  const peer = r.peer();
  if (index.rules.length <= 8 || (peer !== undefined && peer.workloadKey === undefined)) return [index.rules, EMPTY, EMPTY, EMPTY];
  return [lookupSa(index, r), lookupNs(index, r), lookupPath(index, r), index.residual];
}

function lookupSa(index: PolicyIndex, r: RequestView): readonly IndexedRule[] {
  if (index.bySa.size === 0) return EMPTY;
  const key = r.peer()?.workloadKey;
  return key === undefined ? EMPTY : (index.bySa.get(key) ?? EMPTY);
}

function lookupNs(index: PolicyIndex, r: RequestView): readonly IndexedRule[] {
  if (index.byNs.size === 0) return EMPTY;
  const ns = r.namespace();
  return ns === undefined ? EMPTY : (index.byNs.get(ns) ?? EMPTY);
}

function lookupPath(index: PolicyIndex, r: RequestView): readonly IndexedRule[] {
  if (index.byPath.size === 0 || r.path === undefined) return EMPTY;
  return index.byPath.get(firstSegment(r.path)) ?? EMPTY;
}

/** The first entry of `list` that matches and comes before `best`. */
function scan(list: readonly IndexedRule[], r: RequestView, best: IndexedRule | undefined): IndexedRule | undefined {
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!;
    if (best !== undefined && entry.order >= best.order) return best;
    if (ruleMatches(entry.rule, r)) return entry;
  }
  return best;
}

/** The first rule (in evaluation order) the request matches. */
export function firstMatch(index: PolicyIndex, r: RequestView): IndexedRule | undefined {
  if (index.rules.length === 0) return undefined;
  const peer = r.peer();
  if (index.rules.length <= 8 || (peer !== undefined && peer.workloadKey === undefined)) return scan(index.rules, r, undefined);
  let best = scan(lookupSa(index, r), r, undefined);
  best = scan(lookupNs(index, r), r, best);
  best = scan(lookupPath(index, r), r, best);
  return scan(index.residual, r, best);
}

/** Every policy with a matching rule, with its first matching rule, in order (AUDIT reports them all). */
export function allMatches(index: PolicyIndex, r: RequestView): IndexedRule[] {
  let out: IndexedRule[] | undefined;
  if (index.rules.length === 0) return [];
  for (const list of candidates(index, r)) {
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      const j = out === undefined ? -1 : out.findIndex((m) => m.policy === entry.policy);
      if (j !== -1 && out![j]!.order <= entry.order) continue;
      if (!ruleMatches(entry.rule, r)) continue;
      if (out === undefined) out = [entry];
      else if (j === -1) out.push(entry);
      else out[j] = entry;
    }
  }
  return out === undefined ? [] : out.sort((a, b) => a.order - b.order);
}

/** The rules worth diagnosing for a denial: the request's candidates, or the first few rules when it has none. */
export function nearCandidates(index: PolicyIndex, r: RequestView, limit: number): IndexedRule[] {
  const seen = new Set<number>();
  const out: IndexedRule[] = [];
  for (const list of candidates(index, r)) {
    for (const entry of list) {
      if (out.length >= limit) break;
      if (!seen.has(entry.order)) {
        seen.add(entry.order);
        out.push(entry);
      }
    }
  }
  if (out.length === 0) out.push(...index.rules.slice(0, 4));
  return out.sort((a, b) => a.order - b.order);
}
