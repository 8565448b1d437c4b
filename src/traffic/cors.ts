// CORS (virtual_service.proto CorsPolicy; Envoy's cors filter). A preflight is an OPTIONS request
// with `Origin` and `Access-Control-Request-Method`. An allowed origin gets the allow headers
// back (a preflight is answered locally, 200); a preflight from another origin is forwarded to the
// app (`unmatchedPreflights: FORWARD`, the default) or answered 200 without CORS headers
// (`IGNORE`). An actual request from an allowed origin gets `access-control-allow-origin` and the
// expose/credentials headers on its response.
import type { CorsPolicy } from '../config/generated/types.js';
import { goDurationMs } from './duration.js';
import type { HeaderGetter } from './request.js';
import { compileStringMatch, type ValueMatcher } from './string-match.js';

export interface CompiledCors {
  readonly origins: readonly ValueMatcher[];
  readonly allowMethods: string | undefined;
  readonly allowHeaders: string | undefined;
  readonly exposeHeaders: string | undefined;
  readonly maxAgeSeconds: string | undefined;
  readonly allowCredentials: boolean;
  readonly forwardUnmatchedPreflights: boolean;
  /** allowOrigins entries that could not be compiled (they match nothing). */
  readonly errors: readonly string[];
}

/** Compiles a corsPolicy; the legacy `allowOrigin` strings are exact matches. */
export function compileCors(c: CorsPolicy | undefined): CompiledCors | undefined {
  if (c === undefined) return undefined;
  const origins: ValueMatcher[] = [];
  const errors: string[] = [];
  for (const o of c.allowOrigin ?? []) origins.push(o === '*' ? () => true : (v) => v === o);
  (c.allowOrigins ?? []).forEach((m, i) => {
    const compiled = compileStringMatch(m, false);
    if (typeof compiled === 'string') errors.push(`corsPolicy.allowOrigins[${i}]: ${compiled}`);
    else origins.push(compiled.test);
  });
  const list = (v: readonly string[] | undefined) => (v === undefined || v.length === 0 ? undefined : v.join(','));
  const maxAge = c.maxAge === undefined ? undefined : goDurationMs(c.maxAge);
  return {
    origins,
    allowMethods: list(c.allowMethods),
    allowHeaders: list(c.allowHeaders),
    exposeHeaders: list(c.exposeHeaders),
    maxAgeSeconds: maxAge === undefined ? undefined : String(Math.floor(maxAge / 1000)),
    allowCredentials: c.allowCredentials === true,
    forwardUnmatchedPreflights: c.unmatchedPreflights !== 'IGNORE',
    errors,
  };
}

export type CorsHeaders = readonly (readonly [string, string])[];

/** What to do with a request before routing it on. */
export type CorsPreflight =
  /** Not a preflight, or a preflight to forward: route the request as usual. */
  | { readonly kind: 'continue' }
  /** Answer locally with these headers (empty for an unmatched, ignored preflight). */
  | { readonly kind: 'respond'; readonly status: 200; readonly headers: CorsHeaders };

const first = (v: string | readonly string[] | undefined) => (v === undefined ? undefined : typeof v === 'string' ? v : v[0]);

function originAllowed(cors: CompiledCors, origin: string): boolean {
  return cors.origins.some((m) => m(origin));
}

/**
 * Answers a preflight.
 * @example corsPreflight(cors, 'OPTIONS', header) → { kind: 'respond', status: 200, headers: [['access-control-allow-origin', 'https://a.example'], ...] }
 */
export function corsPreflight(cors: CompiledCors | undefined, method: string, header: HeaderGetter): CorsPreflight {
  if (cors === undefined || method !== 'OPTIONS') return { kind: 'continue' };
  const origin = first(header('origin'));
  const requested = first(header('access-control-request-method'));
  if (origin === undefined || origin === '' || requested === undefined || requested === '') return { kind: 'continue' };
  if (!originAllowed(cors, origin)) return cors.forwardUnmatchedPreflights ? { kind: 'continue' } : { kind: 'respond', status: 200, headers: [] };
  const headers: [string, string][] = [['access-control-allow-origin', origin]];
  if (cors.allowCredentials) headers.push(['access-control-allow-credentials', 'true']);
  if (cors.allowMethods !== undefined) headers.push(['access-control-allow-methods', cors.allowMethods]);
  if (cors.allowHeaders !== undefined) headers.push(['access-control-allow-headers', cors.allowHeaders]);
  if (cors.maxAgeSeconds !== undefined) headers.push(['access-control-max-age', cors.maxAgeSeconds]);
  return { kind: 'respond', status: 200, headers };
}

/** Headers added to the response of an actual (non-preflight) request; none when the origin is not allowed. */
export function corsResponseHeaders(cors: CompiledCors | undefined, header: HeaderGetter): CorsHeaders {
  if (cors === undefined) return [];
  const origin = first(header('origin'));
  if (origin === undefined || origin === '' || !originAllowed(cors, origin)) return [];
  const headers: [string, string][] = [['access-control-allow-origin', origin]];
  if (cors.allowCredentials) headers.push(['access-control-allow-credentials', 'true']);
  if (cors.exposeHeaders !== undefined) headers.push(['access-control-expose-headers', cors.exposeHeaders]);
  return headers;
}
