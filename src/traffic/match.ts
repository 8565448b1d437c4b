// One HTTPMatchRequest compiled for a request-time test (virtual_service.proto, Istio's
// route.go translation): fields are AND-ed; `uri`, `scheme`, `method` and `authority` are string
// matches on the path (without the query) and the `:scheme`, `:method`, `:authority` values;
// `headers` need the header, `withoutHeaders` pass when it is missing; `queryParams` read the
// first value of a key; `ignoreUriCase` folds exact and prefix URI matches; `port` is compared
// with the destination port per request. sourceLabels, sourceNamespace and gateways are not here:
// they choose at compile time which callers get the block at all.
import type { HTTPMatchRequest, StringMatch } from '../config/generated/types.js';
import type { RequestView } from './request.js';
import { compileStringMatch, type CompiledStringMatch } from './string-match.js';

/** Header keys Istio ignores in a `headers` map: they have their own fields. */
const PSEUDO_KEYS = new Set(['uri', 'scheme', 'method', 'authority']);

type Test = (r: RequestView) => boolean;

/** How the URI was matched: a prefix rewrite replaces what the match consumed. */
export interface UriMatchForm {
  readonly form: 'exact' | 'prefix' | 'regex' | 'presence';
  readonly value: string;
}

/** A compiled match block. */
export interface CompiledMatch {
  readonly name: string | undefined;
  readonly port: number | undefined;
  /** The URI form (a missing `uri` is Istio's implicit prefix `/`). */
  readonly uri: UriMatchForm;
  /** True for a block that matches every request on every port (Istio's catch-all). */
  readonly catchAll: boolean;
  /** Set when a field cannot be run (a regex RE2 refuses): the block fails closed. */
  readonly error: string | undefined;
  readonly test: Test;
}

const IMPLICIT_URI: UriMatchForm = { form: 'prefix', value: '/' };

/**
 * Compiles one match block. A field that cannot be compiled sets `error` and leaves the other
 * fields' test, so the caller can fail closed only for requests the rest of the block matches.
 * @example compileMatch({ uri: { prefix: '/api' }, headers: { 'x-v': { exact: '2' } } })
 */
export function compileMatch(m: HTTPMatchRequest): CompiledMatch {
  const tests: Test[] = [];
  const errors: string[] = [];
  const str = (sm: StringMatch | undefined, where: string, ignoreCase: boolean, read: (r: RequestView) => string | undefined): void => {
    if (sm === undefined) return;
    const c = compileStringMatch(sm, ignoreCase);
    if (typeof c === 'string') errors.push(`${where}: ${c}`);
    else tests.push((r) => {
      const v = read(r);
      return v !== undefined && c.test(v);
    });
  };
  let uri: UriMatchForm = IMPLICIT_URI;
  if (m.uri !== undefined) {
    const ignoreCase = m.ignoreUriCase === true;
    const c = compileStringMatch(m.uri, ignoreCase);
    if (typeof c === 'string') errors.push(`uri: ${c}`);
    else {
      uri = { form: c.form, value: c.value };
      tests.push((r) => c.test(r.pathOnly));
    }
  }
  str(m.scheme, 'scheme', false, (r) => r.req.scheme);
  str(m.method, 'method', false, (r) => r.req.method);
  str(m.authority, 'authority', false, (r) => r.req.authority);
  for (const [name, sm] of Object.entries(m.headers ?? {})) {
    const key = name.toLowerCase();
    if (!PSEUDO_KEYS.has(key)) str(sm, `headers.${name}`, false, (r) => r.headerValue(key));
  }
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    const key = name.toLowerCase();
    if (PSEUDO_KEYS.has(key)) continue;
    const c = compileStringMatch(sm, false);
    if (typeof c === 'string') errors.push(`withoutHeaders.${name}: ${c}`);
    else tests.push((r) => !matchesPresent(c, r.headerValue(key)));
  }
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    str(sm, `queryParams.${name}`, false, (r) => r.query.get(name));
  }
  const catchAll = isCatchAll(m);
  const test: Test = tests.length === 0 ? () => true : tests.length === 1 ? tests[0]! : (r) => tests.every((t) => t(r));
  return { name: m.name, port: m.port, uri, catchAll, error: errors.length === 0 ? undefined : errors.join('; '), test };
}

function matchesPresent(c: CompiledStringMatch, v: string | undefined): boolean {
  return v !== undefined && c.test(v);
}

/**
 * Istio's catch-all: a URI of prefix `/` or regex `.*` (or none) and nothing else to test. A
 * `port` keeps a block from being one here, since weft compares the port per request.
 */
function isCatchAll(m: HTTPMatchRequest): boolean {
  const uriAll = m.uri === undefined || m.uri.prefix === '/' || m.uri.regex === '.*' || (m.uri.exact === undefined && m.uri.prefix === undefined && m.uri.regex === undefined);
  const empty = (o: object | undefined) => o === undefined || Object.keys(o).length === 0;
  return uriAll && m.scheme === undefined && m.method === undefined && m.authority === undefined && empty(m.headers) && empty(m.withoutHeaders) && empty(m.queryParams) && m.port === undefined;
}

/**
 * Blocks AND-ed (a delegate's block under its root's): one test, the first URI form that is not
 * the implicit one, the first error, the port both agree on (a disagreement never matches).
 */
export function andMatches(outer: CompiledMatch, inner: CompiledMatch): CompiledMatch {
  const conflict = outer.port !== undefined && inner.port !== undefined && outer.port !== inner.port;
  const name = inner.name ?? outer.name;
  return {
    name,
    port: outer.port ?? inner.port,
    uri: inner.uri === IMPLICIT_URI ? outer.uri : inner.uri,
    catchAll: outer.catchAll && inner.catchAll,
    error: outer.error ?? inner.error,
    test: conflict ? () => false : (r) => outer.test(r) && inner.test(r),
  };
}
