// Istio's StringMatch (virtual_service.proto): `exact`, `prefix` or `regex`, case-sensitive. A
// regex is RE2 and matches the whole string (Envoy `safe_regex`), so it runs here anchored as
// `^(?:...)$`. Constructs RE2 lacks (backreferences, lookaround) are refused, never run with
// JavaScript's meaning.
import type { StringMatch } from '../config/generated/types.js';
import { regexProblem } from '../config/checks/http.js';

/** Tests one value (a path, a header value, a query parameter's value). */
export type ValueMatcher = (value: string) => boolean;

/** Istio's validation cap on a regex (`validateStringMatchRegexp`). */
export const MAX_REGEX_LENGTH = 1024;

/** What a StringMatch compiles to: its form, for rewrites and catch-all detection, and its test. */
export interface CompiledStringMatch {
  readonly form: 'exact' | 'prefix' | 'regex' | 'presence';
  readonly value: string;
  readonly test: ValueMatcher;
}

const always: ValueMatcher = () => true;

/**
 * Compiles a StringMatch, or says why it cannot be run (a regex RE2 would refuse, or one too long).
 * An empty StringMatch (`{}`) is the presence form: any value matches.
 * @param ignoreCase fold case (exact and prefix only, as Envoy's `case_sensitive: false`)
 * @example (compileStringMatch({ prefix: '/api' }, false) as CompiledStringMatch).test('/api/v1') === true
 */
export function compileStringMatch(m: StringMatch, ignoreCase: boolean): CompiledStringMatch | string {
  if (m.exact !== undefined) {
    if (!ignoreCase) return { form: 'exact', value: m.exact, test: (v) => v === m.exact };
    const want = m.exact.toLowerCase();
    return { form: 'exact', value: m.exact, test: (v) => v.length === want.length && v.toLowerCase() === want };
  }
  if (m.prefix !== undefined) {
    if (!ignoreCase) return { form: 'prefix', value: m.prefix, test: (v) => v.startsWith(m.prefix!) };
    const want = m.prefix.toLowerCase();
    return { form: 'prefix', value: m.prefix, test: (v) => v.length >= want.length && v.slice(0, want.length).toLowerCase() === want };
  }
  if (m.regex !== undefined) {
    const re = compileFullRegex(m.regex);
    if (typeof re === 'string') return re;
    return { form: 'regex', value: m.regex, test: (v) => re.test(v) };
  }
  return { form: 'presence', value: '', test: always };
}

/**
 * A regex anchored to the whole string, after the RE2 check; the reason when it is refused.
 * @example (compileFullRegex('\\d+') as RegExp).test('a123') === false
 */
export function compileFullRegex(source: string): RegExp | string {
  if (source.length === 0) return 'an empty regex is refused (as Istio validation does)';
  if (source.length > MAX_REGEX_LENGTH) return `a regex of ${source.length} characters exceeds the ${MAX_REGEX_LENGTH}-character cap`;
  const problem = regexProblem(source) ?? nestedRepetition(source);
  if (problem !== undefined) return `regex ${JSON.stringify(source)} ${problem}`;
  return new RegExp(`^(?:${source})$`);
}

const NESTED = 'repeats a group that itself repeats without bound (nested quantifiers): JavaScript would backtrack exponentially where RE2 runs in linear time, so weft refuses it';

/**
 * Why a regex is refused for its nested repetition (`(a+)+`, `(x*)*`, `(a{2,})+`): RE2 runs it in
 * linear time, JavaScript's backtracking engine can take exponential time on a request an attacker
 * writes. Undefined when there is none.
 */
export function nestedRepetition(source: string): string | undefined {
  // For each open group: whether an unbounded quantifier occurs inside it.
  const stack: boolean[] = [];
  let inClass = false;
  let lastGroupUnbounded = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const afterGroup = lastGroupUnbounded;
    lastGroupUnbounded = false;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (source[i + 1] === ']') i++;
    } else if (c === '(') stack.push(false);
    else if (c === ')') {
      const inner = stack.pop() ?? false;
      lastGroupUnbounded = inner;
      if (inner && stack.length > 0) stack[stack.length - 1] = true;
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d*,\}/.test(source.slice(i)))) {
      if (afterGroup) return NESTED;
      if (stack.length > 0) stack[stack.length - 1] = true;
    } else if (c === '{' && afterGroup) {
      const m = /^\{(\d+)(?:,(\d+))?\}/.exec(source.slice(i));
      if (m !== null && Number(m[2] ?? m[1]) > 1) return NESTED;
    }
  }
  return undefined;
}

/** An unanchored, global regex for a substitution (`uriRegexRewrite`), or the reason it is refused. */
export function compileSearchRegex(source: string): RegExp | string {
  const anchored = compileFullRegex(source);
  if (typeof anchored === 'string') return anchored;
  return new RegExp(source, 'g');
}
