// Istio's string match values (authorization_policy.proto, "exact match, prefix match, suffix
// match and presence match"): `abc` exact, `abc*` prefix, `*abc` suffix, `*` any non-empty value.
import { matchForm, type MatchForm } from '../config/checks/identity.js';

/** Tests one attribute value. */
export type StringMatcher = (value: string) => boolean;

const always: StringMatcher = () => true;
const nonEmpty: StringMatcher = (v) => v.length > 0;

/**
 * The matcher for one Istio string-match value, or the reason it is not one (empty, or a `*`
 * anywhere but once at either end).
 * @param options.ignoreCase fold both sides to lower case (hosts)
 * @param options.presenceMatchesEmpty `*` also matches an empty value (headers: "the header exists")
 * @example stringMatcher('/api/*')('/api/users') === true
 */
export function stringMatcher(pattern: string, options: { ignoreCase?: boolean; presenceMatchesEmpty?: boolean } = {}): StringMatcher | string {
  const m = matchForm(pattern);
  if (typeof m === 'string') return m;
  return fromForm(m, options.ignoreCase === true, options.presenceMatchesEmpty === true);
}

/** The matcher for an already split match form; `ignoreCase` expects lower-cased input values. */
export function fromForm(m: MatchForm, ignoreCase: boolean, presenceMatchesEmpty = false): StringMatcher {
  const fixed = ignoreCase ? m.fixed.toLowerCase() : m.fixed;
  switch (m.form) {
    case 'presence':
      return presenceMatchesEmpty ? always : nonEmpty;
    case 'exact':
      return (v) => v === fixed;
    case 'prefix':
      return (v) => v.startsWith(fixed);
    case 'suffix':
      return (v) => v.endsWith(fixed);
  }
}
