// Rewrites and redirects (virtual_service.proto HTTPRewrite, HTTPRedirect; Envoy prefix_rewrite,
// regex_rewrite, redirect actions). A prefix rewrite replaces what the URI match consumed: the
// matched prefix, the whole path for an exact or regex match, and `/` when there was no URI match
// (Istio's implicit prefix). The query string is kept.
import type { HTTPRedirect, HTTPRewrite } from '../config/generated/types.js';
import type { UriMatchForm } from './match.js';
import { compileSearchRegex } from './string-match.js';

export interface CompiledRewrite {
  readonly uri: string | undefined;
  readonly regex: { readonly match: RegExp; readonly replacement: string } | undefined;
  readonly authority: string | undefined;
}

/** Compiles a rewrite, or the reason its regex cannot be run. */
export function compileRewrite(r: HTTPRewrite | undefined): CompiledRewrite | string | undefined {
  if (r === undefined) return undefined;
  let regex: CompiledRewrite['regex'];
  if (r.uriRegexRewrite?.match !== undefined) {
    const re = compileSearchRegex(r.uriRegexRewrite.match);
    if (typeof re === 'string') return `rewrite.uriRegexRewrite.match: ${re}`;
    regex = { match: re, replacement: re2Replacement(r.uriRegexRewrite.rewrite ?? '') };
  }
  return { uri: r.uri, regex, authority: r.authority };
}

/** RE2's `\1` captures as JavaScript's `$1`; a literal `$` stays literal. */
function re2Replacement(text: string): string {
  return text.replace(/\$/g, '$$$$').replace(/\\(\d)/g, (_m, d: string) => (d === '0' ? '$&' : `$${d}`));
}

/**
 * The new path (query kept) after a rewrite, or undefined when the path is unchanged.
 * `uriRegexRewrite` wins over `uri`.
 */
export function rewritePath(rw: CompiledRewrite, uri: UriMatchForm, pathOnly: string, queryString: string): string | undefined {
  if (rw.regex !== undefined) {
    rw.regex.match.lastIndex = 0;
    return pathOnly.replace(rw.regex.match, rw.regex.replacement) + queryString;
  }
  if (rw.uri === undefined) return undefined;
  return replaceMatched(rw.uri, uri, pathOnly) + queryString;
}

function replaceMatched(replacement: string, uri: UriMatchForm, pathOnly: string): string {
  if (uri.form === 'prefix') return replacement + pathOnly.slice(uri.value.length);
  return replacement;
}

export interface CompiledRedirect {
  readonly status: number;
  readonly redirect: HTTPRedirect;
}

/** Redirect statuses Envoy can send; anything else falls back to Istio's default, 301. */
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export function compileRedirect(r: HTTPRedirect): CompiledRedirect {
  const status = r.redirectCode !== undefined && REDIRECT_CODES.has(r.redirectCode) ? r.redirectCode : 301;
  return { status, redirect: r };
}

const DEFAULT_PORT: Readonly<Record<string, number>> = { http: 80, https: 443 };

/** What a redirect's `Location` is built from. */
export interface RedirectRequest {
  readonly scheme: string;
  /** The authority as the app sent it (with its port, if any). */
  readonly authority: string;
  /** The destination port the request was made to. */
  readonly port: number;
  readonly pathOnly: string;
  readonly queryString: string;
  readonly uri: UriMatchForm;
}

/**
 * The `Location` of a redirect: scheme (default the request's), authority (default the
 * request's), port (`port`, or `derivePort`: the scheme's default is left out, the request's port
 * kept), path (`uri` replaces it, `prefixRewrite` replaces the matched prefix), query kept.
 * @example location({ uri: '/v2' }, ...) → 'http://reviews:9080/v2'
 */
export function redirectLocation(c: CompiledRedirect, req: RedirectRequest): string {
  const r = c.redirect;
  const scheme = r.scheme ?? req.scheme;
  const [hostOnly, authorityPort] = splitPort(r.authority ?? req.authority);
  let port: number | undefined = authorityPort;
  if (r.port !== undefined) port = r.port;
  else if (r.derivePort === 'FROM_REQUEST_PORT') port = req.port;
  else if (r.derivePort === 'FROM_PROTOCOL_DEFAULT') port = undefined;
  else if (scheme !== req.scheme && port === DEFAULT_PORT[req.scheme]) port = undefined;
  if (port !== undefined && port === DEFAULT_PORT[scheme]) port = undefined;
  let path = req.pathOnly;
  if (r.uri !== undefined) path = r.uri;
  else if (r.prefixRewrite !== undefined) path = replaceMatched(r.prefixRewrite, req.uri, req.pathOnly);
  const query = r.uri !== undefined && r.uri.includes('?') ? '' : req.queryString;
  return `${scheme}://${hostOnly}${port === undefined ? '' : `:${port}`}${path}${query}`;
}

function splitPort(authority: string): [string, number | undefined] {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(authority);
  if (m === null || m[2] === undefined || (m[1]!.includes(':') && !m[1]!.endsWith(']'))) return [authority, undefined];
  return [m[1]!, Number(m[2])];
}
