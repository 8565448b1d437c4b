// Request-path normalization as Istio configures Envoy (meshConfig.pathNormalization; see
// https://istio.io/latest/docs/reference/config/security/normalization/). The result is what
// authorization matches and what the application receives, so the two can never disagree.
//
//   NONE                      the path as sent (only the checks below)
//   BASE                      RFC 3986 §5.2.4 dot-segment removal, `\` -> `/`, percent-encoded
//                             unreserved characters decoded (`%2e` -> `.`, `%41` -> `A`), other
//                             escapes kept exactly as written
//   MERGE_SLASHES             BASE, then `//` -> `/`
//   DECODE_AND_MERGE_SLASHES  `%2F`/`%5C` (any case) decoded first, then MERGE_SLASHES; one decode only
//
// In every mode: a `#fragment` is refused (Envoy's default since CVE-2021-32779; Istio's
// bootstrap strips it instead, `fragment: 'strip'`), the query string is split off (policies
// match the path without it), an invalid percent escape, `%00` or a control character is refused.
// A dot segment carrying path parameters (`..;x`, `.;x`) counts as a dot segment, so
// `/user/..;x/admin` cannot reach `/admin` behind a DENY on it (Envoy CVE-2026-73551).

export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

/** Why a request target was refused; each is answered with 400. */
export type PathRejection = 'not-origin-form' | 'control-character' | 'fragment' | 'invalid-percent-encoding' | 'encoded-nul';

export type NormalizedPath =
  | {
      readonly ok: true;
      /** The normalized path without query: what `paths`/`notPaths` match. */
      readonly path: string;
      /** `''` or the query string with its `?`, unchanged. */
      readonly query: string;
      /** path + query: what the application receives. */
      readonly target: string;
    }
  | { readonly ok: false; readonly status: 400; readonly rejection: PathRejection; readonly reason: string };

export interface NormalizeOptions {
  /** `reject` (default, Envoy's default): 400 for a `#`; `strip`: drop it and what follows (Istio's setting). */
  readonly fragment?: 'reject' | 'strip';
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function reject(rejection: PathRejection, reason: string): NormalizedPath {
  return { ok: false, status: 400, rejection, reason };
}

/**
 * Normalizes a request target in origin form (`/path?query`).
 * @example normalizePath('/a/./b/../c?x=1', 'BASE') -> { ok: true, path: '/a/c', query: '?x=1', target: '/a/c?x=1' }
 * @example normalizePath('/a%zz', 'BASE') -> { ok: false, status: 400, rejection: 'invalid-percent-encoding', ... }
 */
export function normalizePath(raw: string, mode: PathNormalization, options: NormalizeOptions = {}): NormalizedPath {
  if (!raw.startsWith('/')) return reject('not-origin-form', 'the request target must be a path starting with "/"');
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return reject('control-character', 'the request target holds a space or control character');
  }
  let rest = raw;
  const hash = rest.indexOf('#');
  if (hash !== -1) {
    if (options.fragment !== 'strip') return reject('fragment', 'a request target must not carry a "#fragment"');
    rest = rest.slice(0, hash);
  }
  const q = rest.indexOf('?');
  const query = q === -1 ? '' : rest.slice(q);
  const original = q === -1 ? rest : rest.slice(0, q);
  for (let i = original.indexOf('%'); i !== -1; i = original.indexOf('%', i + 1)) {
    const hex = original.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return reject('invalid-percent-encoding', 'the path holds a "%" that is not followed by two hex digits');
    if (hex === '00') return reject('encoded-nul', 'the path holds "%00"');
  }
  let path = original;
  if (mode !== 'NONE') {
    path = removeDotSegments(decodeEscapes(path, mode === 'DECODE_AND_MERGE_SLASHES'));
    if (mode !== 'BASE') path = path.replace(/\/{2,}/g, '/');
  }
  return { ok: true, path, query, target: path + query };
}

// Characters RFC 3986 allows unescaped in a path (pchar and "/"); others are escaped as a URL
// parser would, so the application and the policy see one spelling.
const PATH_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/%]/;

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** One left-to-right pass, so nothing is decoded twice (`%252F` stays `%252F`). */
function decodeEscapes(path: string, slashes: boolean): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '%') {
      const code = parseInt(path.slice(i + 1, i + 3), 16);
      if (isUnreserved(code) || (slashes && (code === 0x2f || code === 0x5c))) {
        out += code === 0x5c ? '/' : String.fromCharCode(code);
      } else {
        out += path.slice(i, i + 3);
      }
      i += 2;
    } else if (ch === '\\') {
      out += '/';
    } else if (PATH_CHAR.test(ch)) {
      out += ch;
    } else {
      out += escapeChar(path, i);
      if (path.codePointAt(i)! > 0xffff) i++;
    }
  }
  return out;
}

/** The UTF-8 percent-encoding of the character at `i` (a lone surrogate becomes U+FFFD). */
function escapeChar(path: string, i: number): string {
  const cp = path.codePointAt(i)!;
  const bytes = Buffer.from(cp >= 0xd800 && cp <= 0xdfff ? '\uFFFD' : String.fromCodePoint(cp), 'utf8');
  let out = '';
  for (const b of bytes) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  return out;
}

function dotKind(segment: string): 0 | 1 | 2 {
  const semi = segment.indexOf(';');
  const bare = semi === -1 ? segment : segment.slice(0, semi);
  return bare === '.' ? 1 : bare === '..' ? 2 : 0;
}

/** RFC 3986 §5.2.4 on an absolute path; a trailing dot segment leaves a trailing "/". */
export function removeDotSegments(path: string): string {
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const kind = dotKind(segment);
    if (kind === 0) {
      out.push(segment);
      continue;
    }
    if (kind === 2) out.pop();
    if (i === segments.length - 1) out.push('');
  }
  return '/' + out.join('/');
}

/** True when `path` has a segment that is `.` or `..` (with or without `;` parameters). */
export function hasDotSegment(path: string): boolean {
  return path.split('/').some((s) => dotKind(s) !== 0);
}
