// Reads and writes the SPIFFE bundle format: an RFC 7517 JWK Set with `use` x509-svid / jwt-svid
// keys, `spiffe_sequence` and `spiffe_refresh_hint` (SPIFFE Trust Domain and Bundle §4, X509-SVID §6,
// JWT-SVID §6).
//
// Reading is strict where the spec leaves room: an entry weft cannot make sense of is an error
// naming the key and member, not a silently skipped key. The spec's explicit "ignore" cases are
// kept: an x509-svid entry without x5c, an unknown `kty`, and `wit-svid` keys.
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { readCertificate } from './certificate.js';
import { TrustBundleError } from './errors.js';
import { isStandardBase64 } from './pem.js';
import { parseTrustDomain } from './spiffe-id.js';
import { assertCaCertificate, createTrustBundle, type JwtAuthority, type TrustBundle } from './trust-bundle.js';

/** Key types RFC 7518 defines (plus OKP, RFC 8037); JWKs of any other `kty` are ignored (spec §4.2.1). */
const KNOWN_KTY = new Set(['EC', 'RSA', 'OKP']);
/** Uses weft does not consume but that are defined (WIT-SVID, incubating); ignored. */
const IGNORED_USES = new Set(['wit-svid']);
/** Public key members per kty, the ones compared against an x5c certificate and kept for JWT keys. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'], OKP: ['crv', 'x'] };
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Reads a SPIFFE bundle (JWKS JSON) for `trustDomain`. Roots come from `x509-svid` entries (the first
 * x5c certificate; entries with no x5c are ignored), JWT keys from `jwt-svid` entries.
 *
 * @throws TrustBundleError (`WEFT_BUNDLE_INVALID`) naming the key index and member: bad JSON,
 *   `keys` missing or not an array, a key that is not an object, missing or unknown `use`, an
 *   x509-svid key with `kid`, x5c not standard base64 / not a CA certificate / not matching the
 *   key members, a jwt-svid key without `kid` or with private members, a duplicate `kid`, a
 *   sequence or refresh hint that is not a non-negative integer.
 * @example bundleFromJwks('example.org', await (await fetch(url)).text())
 */
export function bundleFromJwks(trustDomain: string, json: string): TrustBundle {
  const td = parseTrustDomain(trustDomain);
  if (typeof json !== 'string') throw new TypeError('"json" must be a string');
  let doc: Json;
  try {
    doc = JSON.parse(json) as Json;
  } catch (err) {
    throw new TrustBundleError(td, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!isObject(doc)) throw new TrustBundleError(td, 'a SPIFFE bundle must be a JSON object');
  if (!('keys' in doc)) throw new TrustBundleError(td, '"keys" is missing', { field: 'keys' });
  const keys = doc.keys;
  if (!Array.isArray(keys)) throw new TrustBundleError(td, '"keys" must be an array', { field: 'keys' });
  const x509Authorities: Buffer[] = [];
  const jwtAuthorities: JwtAuthority[] = [];
  keys.forEach((key, i) => {
    const entry = readKey(td, key, i);
    if (entry?.kind === 'x509') x509Authorities.push(entry.der);
    if (entry?.kind === 'jwt') {
      if (jwtAuthorities.some((a) => a.keyId === entry.authority.keyId)) {
        throw new TrustBundleError(td, `keys[${i}]: kid "${entry.authority.keyId}" is used by an earlier key`, { keyIndex: i, field: 'kid' });
      }
      jwtAuthorities.push(entry.authority);
    }
  });
  const sequence = readSequence(td, doc, json);
  const refreshHintSeconds = readRefreshHint(td, doc);
  return createTrustBundle({
    trustDomain: td,
    x509Authorities,
    jwtAuthorities,
    ...(sequence === undefined ? {} : { sequence }),
    ...(refreshHintSeconds === undefined ? {} : { refreshHintSeconds }),
  });
}

type KeyEntry = { kind: 'x509'; der: Buffer } | { kind: 'jwt'; authority: JwtAuthority } | undefined;

function readKey(td: string, key: Json, i: number): KeyEntry {
  const at = (field: string, reason: string): TrustBundleError => new TrustBundleError(td, `keys[${i}].${field} ${reason}`, { keyIndex: i, field });
  if (!isObject(key)) throw new TrustBundleError(td, `keys[${i}] must be a JSON object`, { keyIndex: i });
  const kty = key.kty;
  if (typeof kty !== 'string' || kty.length === 0) throw at('kty', 'is missing or not a string');
  if (!('use' in key)) throw at('use', 'is missing (expected "x509-svid" or "jwt-svid")');
  if (typeof key.use !== 'string') throw at('use', 'must be a string');
  if (IGNORED_USES.has(key.use)) return undefined;
  if (key.use !== 'x509-svid' && key.use !== 'jwt-svid') throw at('use', `is "${key.use}", expected "x509-svid" or "jwt-svid"`);
  // SPIFFE bundle §4.2.1: a JWK whose key type is not understood is ignored.
  if (!KNOWN_KTY.has(kty)) return undefined;
  for (const m of PRIVATE_MEMBERS) if (m in key) throw at(m, 'is private key material, which a bundle must never hold');
  return key.use === 'x509-svid' ? readX509Key(td, key, kty, i, at) : readJwtKey(key, kty, at);
}

function readX509Key(td: string, key: { [k: string]: Json }, kty: string, i: number, at: (f: string, r: string) => TrustBundleError): KeyEntry {
  // X509-SVID §6: "The kid parameter MUST NOT be set."
  if ('kid' in key) throw at('kid', 'must not be set on an x509-svid key');
  if (!('x5c' in key)) return undefined;
  const x5c = key.x5c;
  if (!Array.isArray(x5c)) throw at('x5c', 'must be an array of base64 certificates');
  // X509-SVID §6: an entry with an empty x5c is ignored; of several, only the first is used.
  if (x5c.length === 0) return undefined;
  const first = x5c[0];
  if (typeof first !== 'string' || !isStandardBase64(first)) throw at('x5c[0]', 'is not standard (RFC 4648 §4, padded) base64');
  const der = Buffer.from(first, 'base64');
  assertCaCertificate(td, der, `keys[${i}].x5c[0]`, { keyIndex: i, field: 'x5c[0]' });
  const certKey = readCertificate(der).node.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  if (certKey.kty !== kty) throw at('kty', `is "${kty}" but the x5c certificate holds a ${String(certKey.kty)} key`);
  for (const m of PUBLIC_MEMBERS[kty] ?? []) {
    if (m in key && key[m] !== certKey[m]) throw at(m, 'does not match the public key of the x5c certificate');
  }
  return { kind: 'x509', der };
}

function readJwtKey(key: { [k: string]: Json }, kty: string, at: (f: string, r: string) => TrustBundleError): KeyEntry {
  // JWT-SVID §6: "The kid parameter MUST be set."
  if (typeof key.kid !== 'string' || key.kid.length === 0) throw at('kid', 'is missing or empty; a jwt-svid key must have one');
  const publicKey: Record<string, unknown> = { kty };
  for (const m of PUBLIC_MEMBERS[kty] ?? []) if (m in key) publicKey[m] = key[m];
  if (typeof key.alg === 'string') publicKey.alg = key.alg;
  try {
    createPublicKey({ key: publicKey as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw at(missingMember(publicKey) ?? 'kty', `does not describe a usable public key (${(err as Error).message})`);
  }
  return { kind: 'jwt', authority: { keyId: key.kid, publicKey: publicKey as JWK } };
}

function missingMember(jwk: Record<string, unknown>): string | undefined {
  return (PUBLIC_MEMBERS[jwk.kty as string] ?? []).find((m) => typeof jwk[m] !== 'string');
}

function readSequence(td: string, doc: { [k: string]: Json }, json: string): bigint | number | undefined {
  if (!('spiffe_sequence' in doc)) return undefined;
  const v = doc.spiffe_sequence;
  const bad = (): TrustBundleError =>
    new TrustBundleError(td, `spiffe_sequence must be an integer from 0 to 2^64-1, got ${JSON.stringify(v)}`, { field: 'spiffe_sequence' });
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad();
  if (Number.isSafeInteger(v)) return v;
  // JSON.parse rounded a uint64 beyond 2^53; read its digits from the text.
  const raw = topLevelNumberText(json, 'spiffe_sequence');
  if (raw === undefined || !/^\d+$/.test(raw)) throw bad();
  const big = BigInt(raw);
  if (big > 2n ** 64n - 1n) throw bad();
  return big;
}

function readRefreshHint(td: string, doc: { [k: string]: Json }): number | undefined {
  if (!('spiffe_refresh_hint' in doc)) return undefined;
  const v = doc.spiffe_refresh_hint;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new TrustBundleError(td, `spiffe_refresh_hint must be a whole number of seconds >= 0, got ${JSON.stringify(v)}`, { field: 'spiffe_refresh_hint' });
  }
  return v;
}

/**
 * The source text of the number value of top-level member `name` (the last one, as JSON.parse
 * keeps the last duplicate). `json` is known to be valid JSON.
 */
function topLevelNumberText(json: string, name: string): string | undefined {
  let depth = 0;
  let found: string | undefined;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const str = JSON.parse(json.slice(i, j + 1)) as string;
      i = j;
      if (depth !== 1 || str !== name) continue;
      const m = /^\s*:\s*(-?[\d.eE+-]+)/.exec(json.slice(j + 1));
      if (m) found = m[1];
    }
  }
  return found;
}

/**
 * Writes the SPIFFE bundle JSON of `bundle`: one x509-svid key per root (key members from the
 * certificate, x5c with the standard-base64 DER, no kid), one jwt-svid key per JWT authority,
 * `spiffe_sequence` and `spiffe_refresh_hint` when set. {@link bundleFromJwks} reads it back.
 */
export function bundleToJwks(bundle: TrustBundle): string {
  const keys: Record<string, unknown>[] = [];
  for (const der of bundle.x509Authorities) {
    const jwk = readCertificate(der).node.publicKey.export({ format: 'jwk' });
    keys.push({ ...jwk, use: 'x509-svid', x5c: [Buffer.from(der).toString('base64')] });
  }
  for (const a of bundle.jwtAuthorities) keys.push({ ...a.publicKey, use: 'jwt-svid', kid: a.keyId });
  const doc: Record<string, unknown> = {};
  const SEQ = '\u0000spiffe_sequence\u0000';
  if (bundle.sequence !== undefined) doc.spiffe_sequence = SEQ;
  if (bundle.refreshHintSeconds !== undefined) doc.spiffe_refresh_hint = bundle.refreshHintSeconds;
  doc.keys = keys;
  const text = JSON.stringify(doc, null, 2);
  // A bigint sequence has no JSON.stringify form; write its digits in place.
  return bundle.sequence === undefined ? `${text}\n` : `${text.replace(JSON.stringify(SEQ), bundle.sequence.toString())}\n`;
}

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
