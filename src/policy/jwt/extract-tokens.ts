// Finds the tokens a request carries at the locations its rules configure (Envoy jwt_authn's
// extractor as Istio configures it). A header counts only when its value starts with the
// configured prefix (compared without regard to ASCII case, as RFC 7235 auth-schemes are);
// a header without the prefix is no token at all, as in Envoy. Every value of a repeated header,
// parameter or cookie is a token of its own, so all of them must verify.
import type { JwtRequest, TokenLocation } from './types.js';

/** One token and where it was found. */
export interface FoundToken {
  /** The text after the prefix, with surrounding spaces and tabs removed (may be malformed). */
  readonly token: string;
  readonly location: TokenLocation;
}

/** Every token at the given locations, in location order; empty when the request carries none. */
export function extractTokens(request: JwtRequest, locations: readonly TokenLocation[]): FoundToken[] {
  const found: FoundToken[] = [];
  for (const location of locations) {
    switch (location.kind) {
      case 'header':
        for (const value of valuesOf(request.headers[location.name])) {
          const token = stripPrefix(value, location.prefix);
          if (token !== undefined) found.push({ token, location });
        }
        break;
      case 'param':
        for (const value of valuesOf(request.params?.[location.name])) found.push({ token: trimOws(value), location });
        break;
      case 'cookie':
        for (const value of valuesOf(request.cookies?.[location.name])) found.push({ token: trimOws(value), location });
        break;
    }
  }
  return found;
}

/**
 * The token in a header value: undefined when the value does not start with `prefix` (then the
 * header holds no token for this location); otherwise the rest without surrounding whitespace.
 */
export function stripPrefix(value: string, prefix: string): string | undefined {
  if (prefix === '') return trimOws(value);
  const start = skipOws(value, 0);
  if (value.length - start < prefix.length) return undefined;
  for (let i = 0; i < prefix.length; i++) {
    if (lowerAscii(value.charCodeAt(start + i)) !== lowerAscii(prefix.charCodeAt(i))) return undefined;
  }
  return trimOws(value.slice(start + prefix.length));
}

function valuesOf(v: string | readonly string[] | undefined): readonly string[] {
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

function lowerAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

function skipOws(s: string, from: number): number {
  let i = from;
  while (i < s.length && isOws(s.charCodeAt(i))) i++;
  return i;
}

function trimOws(s: string): string {
  let end = s.length;
  while (end > 0 && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(skipOws(s, 0), end);
}
