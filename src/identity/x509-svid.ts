// Implements X.509-SVID validation (spiffe/spiffe standards/X509-SVID.md §4, §5): exactly one URI
// SAN holding a SPIFFE ID with a non-root path, a leaf that is not a CA and may sign but not
// certify, and RFC 5280 path validation against the bundle of the leaf's own trust domain only.
import { X509Certificate } from 'node:crypto';
import { systemClock, type Clock } from '../lib/clock.js';
import { KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, readCertificate, type CertFacts } from './certificate.js';
import { SvidError } from './errors.js';
import { parseSpiffeId, type SpiffeId } from './spiffe-id.js';
import { TrustBundleSet, type TrustBundle } from './trust-bundle.js';
import { certificateProblems, MAX_PATH_CERTIFICATES, problem, validatePath, type PathNode } from './x509-path.js';

export { parseCertificatesPem } from './pem.js';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** What an X.509-SVID leaf says about itself. */
export interface X509SvidInfo {
  spiffeId: SpiffeId;
  /** Lowercase hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** 'EC P-256', 'EC P-384', 'RSA 2048', 'Ed25519'... */
  keyType: string;
  issuer: string;
  subject: string;
  /** 'sha256:' + lowercase hex of the DER. */
  fingerprint: string;
}

/** The outcome of {@link checkX509Svid}: the leaf's description, and every problem found if any. */
export type X509SvidCheck =
  | { readonly ok: true; readonly info: X509SvidInfo }
  | { readonly ok: false; readonly info?: Partial<X509SvidInfo>; readonly problems: readonly SvidError[] };

export interface VerifyX509SvidOptions {
  /** The instant validity windows are checked at; the system clock by default. */
  clock?: Clock;
}

/**
 * Checks that `chainDer` (leaf first, then any intermediates, in any order) is a valid X.509-SVID
 * for `bundles`, and collects EVERY problem rather than stopping at the first: what `weft cert
 * inspect` prints. Problems are ordered leaf first, then trust, then the signing certificates.
 *
 * @example
 * const r = checkX509Svid(parseCertificatesPem(pem), bundles);
 * if (!r.ok) for (const p of r.problems) console.log(p.code, p.message);
 */
export function checkX509Svid(chainDer: readonly Uint8Array[], bundles: TrustBundleSet | TrustBundle, opts: VerifyX509SvidOptions = {}): X509SvidCheck {
  if (!Array.isArray(chainDer)) throw new TypeError('"chainDer" must be an array of DER certificates');
  if (chainDer.length === 0) return { ok: false, problems: [new SvidError('WEFT_SVID_EMPTY_CHAIN', 'the certificate chain is empty: no leaf certificate was presented')] };
  const now = (opts.clock ?? systemClock).now();
  let leafFacts: CertFacts;
  try {
    leafFacts = readCertificate(chainDer[0]!);
  } catch (err) {
    return { ok: false, problems: [malformed('the leaf certificate', 0, err)] };
  }
  const id = leafSpiffeId(leafFacts);
  const leaf: PathNode = { facts: leafFacts, role: 'leaf', index: 0, ...(id.uri ? { spiffeId: id.uri } : {}) };
  const problems = [...id.problems, ...leafProblems(leaf, id.spiffeId), ...certificateProblems(leaf, now)];
  problems.push(...trustProblems(leaf, id.spiffeId, chainDer, bundles, now));
  const info = infoOf(leafFacts, id.spiffeId);
  if (problems.length > 0 || !id.spiffeId) return { ok: false, info, problems };
  return { ok: true, info: { ...info, spiffeId: id.spiffeId } };
}

/**
 * Verifies an X.509-SVID chain against the bundle of the leaf's own trust domain.
 *
 * @returns the leaf's description, its SPIFFE ID included.
 * @throws SvidError with the code of the first rule broken (see {@link checkX509Svid} for all).
 * @example const { spiffeId } = verifyX509Svid([peerCert.raw], bundles, { clock });
 */
export function verifyX509Svid(chainDer: readonly Uint8Array[], bundles: TrustBundleSet | TrustBundle, opts: VerifyX509SvidOptions = {}): X509SvidInfo {
  const r = checkX509Svid(chainDer, bundles, opts);
  if (!r.ok) throw r.problems[0]!;
  return r.info;
}

/**
 * Describes a leaf certificate without validating it as an SVID (no trust, time or key-usage
 * checks), for display.
 *
 * @throws SvidError `WEFT_SVID_MALFORMED`, `WEFT_SVID_NO_URI_SAN`, `WEFT_SVID_MULTIPLE_URI_SANS` or
 *   `WEFT_SVID_BAD_SPIFFE_ID`.
 */
export function describeSvid(leafDer: Uint8Array): X509SvidInfo {
  let facts: CertFacts;
  try {
    facts = readCertificate(leafDer);
  } catch (err) {
    throw malformed('the certificate', 0, err);
  }
  const id = leafSpiffeId(facts);
  if (!id.spiffeId) throw id.problems[0]!;
  return { ...infoOf(facts, id.spiffeId), spiffeId: id.spiffeId };
}

/**
 * The SPIFFE ID a peer's leaf certificate names, cheaply (about 1 µs for an X509Certificate, as
 * from `tlsSocket.getPeerX509Certificate()`; a DER input costs node's parse, about 120 µs): exactly
 * one URI SAN, a valid SPIFFE ID with a non-root path, and not usable as a CA (node's
 * `X509Certificate.ca`, i.e. OpenSSL's X509_check_ca: cA=true and keyCertSign allowed).
 *
 * This is NOT a validation: it trusts that the chain was verified already. A TLS stack configured
 * with the roots of several trust domains pools them, which X509-SVID §5 forbids, so the first
 * sight of a peer certificate should go through {@link verifyX509Svid}, cached by fingerprint.
 *
 * Reads node's subjectAltName text, whose unsafe values node JSON-quotes, so a DNS name holding
 * ", URI:" cannot pass for a URI SAN; falls back to a full decode if the text is ever in another form.
 *
 * @throws SvidError `WEFT_SVID_NO_URI_SAN`, `WEFT_SVID_MULTIPLE_URI_SANS`, `WEFT_SVID_BAD_SPIFFE_ID`,
 *   `WEFT_SVID_ROOT_PATH`, `WEFT_SVID_LEAF_IS_CA` or `WEFT_SVID_MALFORMED`.
 */
export function spiffeIdOfCertificate(cert: X509Certificate | Uint8Array): SpiffeId {
  let node: X509Certificate;
  try {
    node = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  } catch (err) {
    throw malformed('the peer certificate', 0, err);
  }
  const uris = urisFromNodeSan(node.subjectAltName) ?? readCertificate(node.raw).uris;
  const where = { certificate: { role: 'leaf' as const, index: 0, serial: node.serialNumber.toLowerCase() } };
  const label = `peer certificate (serial ${where.certificate.serial})`;
  if (uris.length === 0) throw new SvidError('WEFT_SVID_NO_URI_SAN', `${label} has no URI SAN, so no SPIFFE ID`, where);
  if (uris.length > 1) throw new SvidError('WEFT_SVID_MULTIPLE_URI_SANS', `${label} has ${uris.length} URI SANs; an X.509-SVID has exactly one`, where);
  let id: SpiffeId;
  try {
    id = parseSpiffeId(uris[0]!);
  } catch (err) {
    throw new SvidError('WEFT_SVID_BAD_SPIFFE_ID', `${label} has a URI SAN that is not a SPIFFE ID: ${(err as Error).message}`, { ...where, cause: err });
  }
  if (id.path === '') throw new SvidError('WEFT_SVID_ROOT_PATH', `${label} ${id.text} names a trust domain, not a workload (no path)`, where);
  if (node.ca) throw new SvidError('WEFT_SVID_LEAF_IS_CA', `${label} ${id.text} is a CA certificate (basicConstraints cA=true)`, where);
  return id;
}

/**
 * The URI entries of node's `subjectAltName` text ("URI:a, DNS:b, DNS:\"x\\u002c y\""), or undefined
 * when the text is not in that form. Node JSON-quotes any value holding a comma, quote or
 * backslash, so splitting at ", " outside quotes is unambiguous.
 */
function urisFromNodeSan(san: string | undefined): string[] | undefined {
  if (san === undefined || san === '') return [];
  const uris: string[] = [];
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon === -1) return undefined;
    const type = san.slice(i, colon);
    let value: string;
    let end: number;
    if (san[colon + 1] === '"') {
      end = colon + 2;
      while (end < san.length && san[end] !== '"') end += san[end] === '\\' ? 2 : 1;
      if (end >= san.length) return undefined;
      end++;
      try {
        value = JSON.parse(san.slice(colon + 1, end)) as string;
      } catch {
        return undefined;
      }
    } else {
      end = san.indexOf(', ', colon);
      if (end === -1) end = san.length;
      value = san.slice(colon + 1, end);
    }
    if (type === 'URI') uris.push(value);
    if (end === san.length) break;
    if (!san.startsWith(', ', end)) return undefined;
    i = end + 2;
  }
  return uris;
}

// === leaf rules ===

function leafSpiffeId(f: CertFacts): { spiffeId?: SpiffeId; uri?: string; problems: SvidError[] } {
  const node: PathNode = { facts: f, role: 'leaf', index: 0 };
  // X509-SVID §2: "An X.509 SVID MUST contain exactly one URI SAN".
  if (f.uris.length === 0) return { problems: [problem('WEFT_SVID_NO_URI_SAN', node, 'has no URI SAN, so no SPIFFE ID')] };
  if (f.uris.length > 1) {
    return { problems: [problem('WEFT_SVID_MULTIPLE_URI_SANS', node, `has ${f.uris.length} URI SANs (${f.uris.join(', ')}); an X.509-SVID has exactly one`)] };
  }
  const uri = f.uris[0]!;
  try {
    const spiffeId = parseSpiffeId(uri);
    return { spiffeId, uri, problems: [] };
  } catch (err) {
    return { uri, problems: [problem('WEFT_SVID_BAD_SPIFFE_ID', node, `has a URI SAN that is not a valid SPIFFE ID: ${(err as Error).message}`, err)] };
  }
}

function leafProblems(leaf: PathNode, spiffeId: SpiffeId | undefined): SvidError[] {
  const f = leaf.facts;
  const out: SvidError[] = [];
  // X509-SVID §3: a leaf's SPIFFE ID "MUST have a non-root path".
  if (spiffeId?.path === '') {
    out.push(problem('WEFT_SVID_ROOT_PATH', leaf, 'has the root path: a leaf SVID must name a workload, not the trust domain'));
  }
  if (f.basicConstraints?.ca === true) out.push(problem('WEFT_SVID_LEAF_IS_CA', leaf, 'has basicConstraints cA=true; a leaf SVID must not be a CA'));
  const ku = f.keyUsage;
  if (ku === undefined) {
    out.push(problem('WEFT_SVID_NO_DIGITAL_SIGNATURE', leaf, 'has no keyUsage extension; a leaf SVID must have one with digitalSignature'));
  } else {
    if ((ku & KU_KEY_CERT_SIGN) !== 0) out.push(problem('WEFT_SVID_LEAF_KEY_CERT_SIGN', leaf, 'has keyUsage keyCertSign, which a leaf SVID must not'));
    if ((ku & KU_CRL_SIGN) !== 0) out.push(problem('WEFT_SVID_LEAF_CRL_SIGN', leaf, 'has keyUsage cRLSign, which a leaf SVID must not'));
    if ((ku & KU_DIGITAL_SIGNATURE) === 0) out.push(problem('WEFT_SVID_NO_DIGITAL_SIGNATURE', leaf, 'lacks keyUsage digitalSignature, which a leaf SVID must have'));
  }
  // X509-SVID §4.4: extendedKeyUsage, if present, MUST include id-kp-serverAuth and id-kp-clientAuth.
  const eku = f.extKeyUsage;
  if (eku !== undefined && !(eku.includes(EKU_SERVER_AUTH) && eku.includes(EKU_CLIENT_AUTH))) {
    const missing = [eku.includes(EKU_SERVER_AUTH) ? '' : 'serverAuth', eku.includes(EKU_CLIENT_AUTH) ? '' : 'clientAuth'].filter(Boolean).join(' and ');
    out.push(problem('WEFT_SVID_BAD_EKU', leaf, `has an extendedKeyUsage without ${missing}; a leaf SVID's must include both`));
  }
  return out;
}

// === trust ===

function trustProblems(
  leaf: PathNode,
  spiffeId: SpiffeId | undefined,
  chainDer: readonly Uint8Array[],
  bundles: TrustBundleSet | TrustBundle,
  now: number,
): SvidError[] {
  const out: SvidError[] = [];
  let bundle: TrustBundle | undefined;
  if (spiffeId) {
    // X509-SVID §5.1: validate against the bundle of the leaf's own trust domain, never a pool.
    bundle = isBundleSet(bundles) ? bundles.get(spiffeId.trustDomain) : bundles.trustDomain === spiffeId.trustDomain ? bundles : undefined;
    if (!bundle) {
      // The trust domains that are configured are left out: this message may reach the peer.
      out.push(problem('WEFT_SVID_NO_BUNDLE', leaf, `belongs to trust domain ${spiffeId.trustDomain}, for which there is no trust bundle`));
      return out;
    }
  } else if (!isBundleSet(bundles)) {
    // No usable SPIFFE ID: the leaf already fails, but the chain is still checked against the one
    // bundle given so that every problem is reported.
    bundle = bundles;
  } else {
    return out;
  }
  if (chainDer.length > MAX_PATH_CERTIFICATES) {
    out.push(problem('WEFT_SVID_CHAIN_TOO_LONG', leaf, `came with ${chainDer.length} certificates; at most ${MAX_PATH_CERTIFICATES} are accepted`));
    return out;
  }
  const intermediates: PathNode[] = [];
  chainDer.slice(1).forEach((der, i) => {
    try {
      intermediates.push({ facts: readCertificate(der), role: 'intermediate', index: i + 1 });
    } catch (err) {
      out.push(malformed(`intermediate certificate ${i + 1} of the chain`, i + 1, err));
    }
  });
  const roots: PathNode[] = [];
  bundle.x509Authorities.forEach((der, i) => {
    try {
      roots.push({ facts: readCertificate(der), role: 'root', index: i });
    } catch (err) {
      out.push(malformed(`root ${i + 1} of the ${bundle.trustDomain} trust bundle`, i, err, 'root'));
    }
  });
  out.push(...validatePath(leaf, intermediates, roots, bundle.trustDomain, now));
  return out;
}

/** A TrustBundleSet, also one from another copy of this module (so not `instanceof`). */
function isBundleSet(b: TrustBundleSet | TrustBundle): b is TrustBundleSet {
  return b instanceof TrustBundleSet || typeof (b as Partial<TrustBundleSet>).get === 'function';
}

function malformed(what: string, index: number, err: unknown, role: 'leaf' | 'intermediate' | 'root' = index === 0 ? 'leaf' : 'intermediate'): SvidError {
  return new SvidError('WEFT_SVID_MALFORMED', `${what} is not a well-formed X.509 certificate: ${(err as Error).message}`, {
    certificate: { role, index },
    cause: err,
  });
}

function infoOf(f: CertFacts, spiffeId: SpiffeId | undefined): Partial<X509SvidInfo> & Omit<X509SvidInfo, 'spiffeId'> {
  return {
    ...(spiffeId ? { spiffeId } : {}),
    serial: f.serial,
    notBefore: new Date(f.notBefore.getTime()),
    notAfter: new Date(f.notAfter.getTime()),
    keyType: f.keyType,
    issuer: f.issuer,
    subject: f.subject,
    fingerprint: f.fingerprint,
  };
}
