// Istio 1.22+ path templates in `paths`/`notPaths`, which Istio hands to Envoy's uri_template
// matcher: `{*}` is exactly one non-empty path segment, `{**}` zero or more characters including
// `/` (the rest of the path, possibly empty). Envoy compiles a template to an RE2 regex whose
// operator character classes are RFC 3986 pchars minus `*`; this does the same with a JS RegExp
// (no backtracking hazard: the classes are fixed and the template is validated on apply).
//
// Istio's API text lists `/foo/bar/baz.txt` as a match of `/foo/{**}/`; Envoy's matcher (and
// Istio's integration tests, e.g. `/store/{**}/cart`) require the literal `/` after `{**}`, so this
// follows the code: `/foo/{**}/` matches `/foo/bar/` and `/foo//`, not `/foo/bar/baz.txt`.
import { pathTemplateProblem } from '../config/checks/http.js';
import type { StringMatcher } from './string-match.js';

const SEGMENT_CHARS = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";

/** True when a `paths` value is a template (has `{` or `}`) rather than a string match. */
export function isPathTemplate(value: string): boolean {
  return value.includes('{') || value.includes('}');
}

/**
 * The matcher for a path template, or why it is not a valid one.
 * @example pathTemplateMatcher('/foo/{*}/bar')('/foo/x/bar') === true
 */
export function pathTemplateMatcher(template: string): StringMatcher | string {
  const problem = pathTemplateProblem(template);
  if (problem !== undefined) return problem;
  const source = template
    .split('/')
    .map((segment) => {
      if (segment === '{*}') return `[${SEGMENT_CHARS}]+`;
      if (segment === '{**}') return `[${SEGMENT_CHARS}/]*`;
      return segment.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    })
    .join('/');
  const re = new RegExp(`^${source}$`);
  return (path) => re.test(path);
}
