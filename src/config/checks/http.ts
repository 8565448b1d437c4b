// HTTP-side values: request paths and path templates, methods, header names, RE2 regexes,
// durations, URLs and inline JWKS.
import { matchForm } from './identity.js';

const PCHAR = /^(?:[A-Za-z0-9\-._~!$&'()+,;=:@]|%[0-9A-Fa-f]{2})*$/;

/**
 * Why `v` is not an AuthorizationPolicy `paths`/`notPaths` value: an exact path, `prefix*`,
 * `*suffix`, `*`, or an Istio 1.22+ path template. Templates follow Envoy's uri_template as Istio
 * validates it: `{*}` is one whole segment, `{**}` the rest of the path and the last operator
 * (literal segments may follow it, as in `/store/{**}/cart`), and no other braces or `*`.
 */
export function requestPathProblem(v: string): string | undefined {
  if (v.includes('{') || v.includes('}')) return pathTemplateProblem(v);
  const m = matchForm(v);
  if (typeof m === 'string') return m;
  if ((m.form === 'exact' || m.form === 'prefix') && !v.startsWith('/')) {
    return 'must start with "/" (a path without it never matches a request)';
  }
  if (v.includes('?') || v.includes('#')) return 'paths are matched without the query string and fragment: remove "?..." and "#..."';
  return undefined;
}

/** Why `v` is not a valid path template (see requestPathProblem). */
export function pathTemplateProblem(v: string): string | undefined {
  if (!v.startsWith('/')) return 'a path template must start with "/"';
  let seenRest = false;
  for (const segment of v.slice(1).split('/')) {
    if (segment === '{**}') {
      if (seenRest) return '"{**}" may appear only once, as the last operator';
      seenRest = true;
    } else if (segment === '{*}') {
      if (seenRest) return '"{*}" cannot follow "{**}": "{**}" must be the last operator';
    } else if (/[{}*]/.test(segment)) {
      return `segment ${JSON.stringify(segment)}: an operator must be a whole segment, "{*}" or "{**}"; no other braces or "*"`;
    } else if (!PCHAR.test(segment)) {
      return `segment ${JSON.stringify(segment)} holds a character that is not allowed in a path (RFC 3986 pchar)`;
    }
  }
  return undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Why `v` is not a `methods` value. Methods match case-sensitively and requests are canonicalized
 * to upper case, so a lower-case rule would never match (a DENY that silently lets requests by).
 */
export function methodProblem(v: string): string | undefined {
  const m = matchForm(v);
  if (typeof m === 'string') return m;
  if (m.fixed !== '' && !TOKEN.test(m.fixed)) return 'not an HTTP method token';
  if (m.fixed !== m.fixed.toUpperCase()) return `methods are upper case: write ${JSON.stringify(v.toUpperCase())}`;
  return undefined;
}

/** Why `v` is not an HTTP header name (an RFC 9110 token). */
export function headerNameProblem(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  return TOKEN.test(v) ? undefined : 'not a valid HTTP header name';
}

/**
 * Why `v` is not a regex weft can run with RE2's meaning: it must compile as a JavaScript regex and
 * use nothing RE2 lacks (lookahead, lookbehind, backreferences).
 */
export function regexProblem(v: string): string | undefined {
  try {
    new RegExp(v);
  } catch (err) {
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `does not compile: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`;
  }
  let inClass = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\') {
      const next = v[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return 'backreferences ("\\1") are not supported by RE2';
      if (!inClass && next === 'k' && v[i + 2] === '<') return 'named backreferences ("\\k<name>") are not supported by RE2';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (v[i + 1] === ']') i++;
    } else if (c === '(' && v[i + 1] === '?') {
      const rest = v.slice(i + 2, i + 4);
      if (rest.startsWith('=') || rest.startsWith('!')) return 'lookahead ("(?=", "(?!") is not supported by RE2';
      if (rest === '<=' || rest === '<!') return 'lookbehind ("(?<=", "(?<!") is not supported by RE2';
    }
  }
  return undefined;
}

const GO_DURATION = /^(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|ms|s|m|h))+$/;

/** Why `v` is not a duration in the form Kubernetes CRDs take (Go's: `5s`, `1.5s`, `1h30m`, `250ms`). */
export function durationProblem(v: string): string | undefined {
  if (v === '0' || GO_DURATION.test(v)) return undefined;
  return 'not a duration: use a number with a unit (ns, us, ms, s, m, h), e.g. "5s", "250ms" or "1h30m"';
}

/** Why `v` is not an absolute http(s) URL. */
export function httpUrlProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'the URL must have scheme http:// or https://';
  return undefined;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** Why `v` is not an inline JWKS: JSON with a `keys` list of public keys, each with a `kty`. */
export function jwksProblem(v: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    return 'must be a JSON Web Key Set: an object with a "keys" list';
  }
  const keys = (parsed as { keys: unknown[] }).keys;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === null || typeof key !== 'object' || typeof (key as { kty?: unknown }).kty !== 'string') return `keys[${i}] must be a JSON Web Key with a "kty"`;
    const secret = PRIVATE_JWK_MEMBERS.find((m) => m in key);
    if (secret !== undefined) return `keys[${i}] holds private or secret key material ("${secret}"): publish public keys only`;
  }
  return undefined;
}
