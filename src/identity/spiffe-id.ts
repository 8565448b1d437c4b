// Implements the SPIFFE-ID standard (spiffe/spiffe standards/SPIFFE-ID.md §2), checking in the
// order go-spiffe's spiffeid.FromString does so the first rule broken is the one reported.
//
// Case: §2.1 says the trust domain MUST be lowercase while §2.4 calls it case-insensitive. weft
// follows go-spiffe and refuses uppercase in the scheme and trust domain rather than folding it:
// an identity has exactly one spelling, so a principal in a policy can never be matched by a
// differently-cased certificate. The path is case-sensitive and may hold uppercase.
import { SpiffeIdError, type SpiffeIdRule } from './errors.js';

/** "spiffe://" */
export const SPIFFE_SCHEME_PREFIX = 'spiffe://';
/** SPIFFE-ID §2.3: implementations MUST accept IDs up to 2048 bytes; weft refuses longer ones. */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** SPIFFE-ID §2.1: the trust domain is an RFC 3986 host, at most 255 bytes. */
export const MAX_TRUST_DOMAIN_BYTES = 255;

/** A parsed SPIFFE ID. `path` is '' for a trust domain's own ID, else starts with '/'. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
  /** The canonical text, `spiffe://<trustDomain><path>`. */
  readonly text: string;
}

function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
}

function isPathChar(c: number): boolean {
  return isTrustDomainChar(c) || (c >= 0x41 && c <= 0x5a);
}

function fail(rule: SpiffeIdRule, input: string, reason: string): never {
  throw new SpiffeIdError('WEFT_SPIFFE_ID_INVALID', rule, input, reason);
}

/**
 * Parses a SPIFFE ID.
 *
 * @throws SpiffeIdError (`WEFT_SPIFFE_ID_INVALID`) whose `rule` and message name the rule broken.
 * @example parseSpiffeId('spiffe://cluster.local/ns/default/sa/web').path === '/ns/default/sa/web'
 */
export function parseSpiffeId(text: string): SpiffeId {
  if (typeof text !== 'string') throw new TypeError('"text" must be a string');
  if (text.length === 0) fail('empty', text, 'cannot be empty');
  if (!text.startsWith(SPIFFE_SCHEME_PREFIX)) {
    const hint = text.toLowerCase().startsWith(SPIFFE_SCHEME_PREFIX) ? ' (the scheme must be lowercase)' : '';
    fail('scheme', text, `scheme is missing or invalid: must start with "spiffe://"${hint}`);
  }
  const rest = text.slice(SPIFFE_SCHEME_PREFIX.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  checkTrustDomainChars(trustDomain, text, 'WEFT_SPIFFE_ID_INVALID');
  if (trustDomain.length === 0) fail('trust-domain-missing', text, 'trust domain is missing');
  if (trustDomain.length > MAX_TRUST_DOMAIN_BYTES) {
    fail('trust-domain-too-long', text, `trust domain is ${trustDomain.length} bytes, the limit is ${MAX_TRUST_DOMAIN_BYTES}`);
  }
  checkPath(path, text);
  // Every accepted character is ASCII, so string length is byte length here.
  if (text.length > MAX_SPIFFE_ID_BYTES) {
    fail('too-long', text, `is ${text.length} bytes, the limit is ${MAX_SPIFFE_ID_BYTES}`);
  }
  return { trustDomain, path, text };
}

function checkTrustDomainChars(td: string, input: string, code: 'WEFT_SPIFFE_ID_INVALID' | 'WEFT_TRUST_DOMAIN_INVALID'): void {
  for (let i = 0; i < td.length; i++) {
    const c = td.charCodeAt(i);
    if (isTrustDomainChar(c)) continue;
    if (c >= 0x41 && c <= 0x5a) {
      throw new SpiffeIdError(code, 'trust-domain-lowercase', input, 'trust domain must be lowercase');
    }
    throw new SpiffeIdError(
      code,
      'trust-domain-characters',
      input,
      `trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores (found ${describeChar(td, i)})`,
    );
  }
}

function describeChar(s: string, i: number): string {
  const ch = String.fromCodePoint(s.codePointAt(i)!);
  return /^[\x21-\x7e]$/.test(ch) ? `"${ch}" at offset ${i}` : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at offset ${i}`;
}

/** Checks a SPIFFE ID path ('' or '/seg/seg...') against SPIFFE-ID §2.2. */
function checkPath(path: string, input: string): void {
  if (path.length === 0) return;
  if (path.charCodeAt(0) !== 0x2f) fail('path-leading-slash', input, 'path must have a leading slash');
  let segStart = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      const seg = path.slice(segStart, i);
      if (seg.length === 0) {
        if (i === path.length) fail('path-trailing-slash', input, 'path cannot have a trailing slash');
        fail('path-empty-segment', input, 'path cannot contain empty segments');
      }
      if (seg === '.' || seg === '..') fail('path-dot-segment', input, 'path cannot contain dot segments');
      segStart = i + 1;
      continue;
    }
    if (!isPathChar(c)) {
      const what = c === 0x25 ? ' (percent-encoding is not allowed)' : '';
      fail(
        'path-characters',
        input,
        `path segment characters are limited to letters, numbers, dots, dashes, and underscores (found ${describeChar(path, i)})${what}`,
      );
    }
  }
}

/**
 * Parses a bare trust domain name ("cluster.local"). A full SPIFFE ID is not accepted here.
 *
 * @throws SpiffeIdError (`WEFT_TRUST_DOMAIN_INVALID`)
 */
export function parseTrustDomain(text: string): string {
  if (typeof text !== 'string') throw new TypeError('"text" must be a string');
  if (text.length === 0) throw new SpiffeIdError('WEFT_TRUST_DOMAIN_INVALID', 'trust-domain-missing', text, 'trust domain is missing');
  checkTrustDomainChars(text, text, 'WEFT_TRUST_DOMAIN_INVALID');
  if (text.length > MAX_TRUST_DOMAIN_BYTES) {
    throw new SpiffeIdError(
      'WEFT_TRUST_DOMAIN_INVALID',
      'trust-domain-too-long',
      text,
      `trust domain is ${text.length} bytes, the limit is ${MAX_TRUST_DOMAIN_BYTES}`,
    );
  }
  return text;
}

/**
 * Builds a SPIFFE ID from a trust domain and path segments, validating the result.
 *
 * @throws SpiffeIdError when a segment is empty, a dot segment, holds a '/' or another bad character.
 * @example formatSpiffeId('cluster.local', ['ns', 'default', 'sa', 'web'])
 */
export function formatSpiffeId(trustDomain: string, segments: readonly string[] = []): SpiffeId {
  for (const seg of segments) {
    if (seg.includes('/')) fail('path-characters', seg, 'path segment characters are limited to letters, numbers, dots, dashes, and underscores (found "/")');
  }
  const path = segments.length === 0 ? '' : `/${segments.join('/')}`;
  return parseSpiffeId(`${SPIFFE_SCHEME_PREFIX}${trustDomain}${path}`);
}

/** The SPIFFE ID of a workload in Istio's form: spiffe://<td>/ns/<namespace>/sa/<service account>. */
export function workloadSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): SpiffeId {
  return formatSpiffeId(trustDomain, ['ns', namespace, 'sa', serviceAccount]);
}

/** The namespace and service account of an Istio-form workload ID, or undefined for other shapes. */
export function workloadOf(id: SpiffeId): { namespace: string; serviceAccount: string } | undefined {
  const m = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id.path);
  return m ? { namespace: m[1]!, serviceAccount: m[2]! } : undefined;
}

/** The trust domain's own ID, `spiffe://<td>`, which names its signing authority. */
export function trustDomainId(trustDomain: string): SpiffeId {
  return parseSpiffeId(`${SPIFFE_SCHEME_PREFIX}${parseTrustDomain(trustDomain)}`);
}

/** True when `text` parses as a SPIFFE ID. */
export function isSpiffeId(text: string): boolean {
  try {
    parseSpiffeId(text);
    return true;
  } catch {
    return false;
  }
}
