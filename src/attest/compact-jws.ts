// Implements the JWS Compact Serialization (RFC 7515 §3.1, §7.1) for one algorithm, ES256
// (RFC 7518 §3.4: ECDSA P-256 with SHA-256, the signature being R || S, 64 bytes).
//
// Why not jose here: jose 6 runs on WebCrypto only, so its sign and verify are asynchronous and
// cost ~160 us a verification on this machine kind, against ~70 us for a synchronous node:crypto
// call (OpenSSL's own P-256 verify speed). The token store's read-modify-write must stay
// synchronous (see token-store.ts), and the control plane verifies a token on every first contact,
// so this file signs and verifies with node:crypto. The tests check both directions against jose.
import { sign, verify, type KeyObject } from 'node:crypto';
import { JoinTokenError } from './errors.js';

/** The parts of a compact JWS, decoded but not verified. */
export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)): what the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Longer texts are refused before any decoding: a join token is about 500 characters. */
export const MAX_COMPACT_JWS_LENGTH = 4096;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(detail: string): never {
  throw new JoinTokenError('WEFT_TOKEN_MALFORMED', 'encoding', undefined, `join token is malformed: ${detail}`);
}

/**
 * Decodes base64url without padding strictly: only the URL-safe alphabet, and only the canonical
 * spelling (Node's decoder would skip stray characters and ignore non-zero trailing bits).
 */
function decodeSegment(segment: string, what: string): Buffer {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) malformed(`the ${what} is not base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) malformed(`the ${what} is not canonical base64url`);
  return bytes;
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeSegment(segment, what);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    malformed(`the ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes a compact JWS without verifying it.
 *
 * @throws JoinTokenError `WEFT_TOKEN_MALFORMED` (reason 'encoding') unless the text is three
 *   canonical base64url segments whose first two are JSON objects.
 */
export function parseCompactJws(text: unknown): CompactJws {
  if (typeof text !== 'string') malformed('not a string');
  if (text.length > MAX_COMPACT_JWS_LENGTH) malformed(`longer than ${MAX_COMPACT_JWS_LENGTH} characters`);
  const first = text.indexOf('.');
  const second = first === -1 ? -1 : text.indexOf('.', first + 1);
  if (second === -1 || text.indexOf('.', second + 1) !== -1) malformed('not a compact JWS (three base64url segments separated by dots)');
  const header = decodeJsonObject(text.slice(0, first), 'header');
  const payload = decodeJsonObject(text.slice(first + 1, second), 'payload');
  const signature = decodeSegment(text.slice(second + 1), 'signature');
  return { header, payload, signingInput: text.slice(0, second), signature };
}

/** Signs `header` and `payload` with an ES256 (P-256) private key into a compact JWS. */
export function signCompactEs256(header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>, privateKey: KeyObject): string {
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput, 'ascii'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** True when `jws.signature` is a valid ES256 signature of `jws.signingInput` under `publicKey`. */
export function verifyCompactEs256(jws: CompactJws, publicKey: KeyObject): boolean {
  // RFC 7518 §3.4: the signature MUST be the 64-octet R || S; anything else cannot verify.
  if (jws.signature.length !== 64) return false;
  try {
    return verify('sha256', Buffer.from(jws.signingInput, 'ascii'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, jws.signature);
  } catch {
    return false;
  }
}
