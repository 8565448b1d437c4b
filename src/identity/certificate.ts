// The facts about one X.509 certificate (RFC 5280 §4) that SVID validation and trust bundles need,
// read once: node:crypto parses the certificate and checks signatures, @peculiar's ASN.1 schema
// decodes the extensions, whatever GeneralName types the SAN holds.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { x509 } from '../lib/x509.js';

/** keyUsage bits (RFC 5280 §4.2.1.3), as @peculiar numbers them. */
export const KU_DIGITAL_SIGNATURE = 1;
export const KU_KEY_CERT_SIGN = 32;
export const KU_CRL_SIGN = 64;

/** Extensions weft processes; any other extension marked critical makes a certificate unusable (RFC 5280 §4.2). */
const UNDERSTOOD_EXTENSIONS = new Set([
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_extKeyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
]);

/** What one certificate says, decoded. Immutable. */
export interface CertFacts {
  readonly der: Buffer;
  readonly node: X509Certificate;
  readonly subject: string;
  readonly issuer: string;
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  /** Lowercase hex, as openssl prints it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** 'sha256:' + lowercase hex of the DER. */
  readonly fingerprint: string;
  /** 'EC P-256', 'RSA 2048', 'Ed25519'... */
  readonly keyType: string;
  /** RSA modulus size in bits; undefined for other key types. */
  readonly rsaBits: number | undefined;
  /** undefined when the extension is absent. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  /** keyUsage bit mask (KU_*); undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  /** extendedKeyUsage OIDs; undefined when the extension is absent. */
  readonly extKeyUsage: readonly string[] | undefined;
  /** Every URI SAN, in order. */
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** OIDs of critical extensions weft does not process. */
  readonly unknownCritical: readonly string[];
}

const cache = new Map<string, CertFacts>();
const CACHE_MAX = 512;

/** 'sha256:' + lowercase hex of `der`: the fingerprint format pinned by join tokens and the CA. */
export function sha256Fingerprint(der: Uint8Array): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/**
 * Decodes one DER certificate. Results are cached by fingerprint (the facts are a pure function
 * of the bytes), so trust-bundle roots are decoded once, not on every verification.
 *
 * @throws Error with a lowercase reason when `der` is not exactly one well-formed certificate.
 */
export function readCertificate(der: Uint8Array): CertFacts {
  const fingerprint = sha256Fingerprint(der);
  const hit = cache.get(fingerprint);
  if (hit) return hit;
  const facts = decode(Buffer.from(der), fingerprint);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(fingerprint, facts);
  return facts;
}

function decode(der: Buffer, fingerprint: string): CertFacts {
  let node: X509Certificate;
  let asn: Certificate;
  try {
    node = new X509Certificate(der);
    asn = AsnConvert.parse(der, Certificate);
  } catch (err) {
    throw new Error(`not a DER X.509 certificate (${(err as Error).message})`, { cause: err });
  }
  if (node.raw.length !== der.length) throw new Error(`${der.length - node.raw.length} bytes follow the certificate`);
  const tbs = asn.tbsCertificate;
  const { keyType, rsaBits } = describeKey(node.publicKey);
  return Object.freeze({
    der,
    node,
    subject: new x509.Name(tbs.subject).toString(),
    issuer: new x509.Name(tbs.issuer).toString(),
    subjectDer: Buffer.from(AsnConvert.serialize(tbs.subject)),
    issuerDer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    serial: node.serialNumber.toLowerCase(),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    fingerprint,
    keyType,
    rsaBits,
    ...decodeExtensions(tbs.extensions ?? []),
  });
}

type ExtensionFacts = Pick<CertFacts, 'basicConstraints' | 'keyUsage' | 'extKeyUsage' | 'uris' | 'dnsNames' | 'unknownCritical'>;

function decodeExtensions(exts: readonly { extnID: string; critical: boolean; extnValue: { buffer: ArrayBuffer } }[]): ExtensionFacts {
  const seen = new Set<string>();
  const out: { -readonly [K in keyof ExtensionFacts]: ExtensionFacts[K] } = {
    basicConstraints: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    uris: [],
    dnsNames: [],
    unknownCritical: [],
  };
  for (const ext of exts) {
    // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular extension."
    if (seen.has(ext.extnID)) throw new Error(`extension ${ext.extnID} appears more than once`);
    seen.add(ext.extnID);
    const value = ext.extnValue.buffer;
    try {
      switch (ext.extnID) {
        case id_ce_basicConstraints: {
          const bc = AsnConvert.parse(value, BasicConstraints);
          out.basicConstraints = { ca: bc.cA, pathLength: bc.pathLenConstraint };
          break;
        }
        case id_ce_keyUsage:
          out.keyUsage = AsnConvert.parse(value, KeyUsage).toNumber();
          break;
        case id_ce_extKeyUsage:
          out.extKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
          break;
        case id_ce_subjectAltName: {
          const names = AsnConvert.parse(value, SubjectAlternativeName);
          out.uris = names.filter((n) => n.uniformResourceIdentifier !== undefined).map((n) => n.uniformResourceIdentifier!);
          out.dnsNames = names.filter((n) => n.dNSName !== undefined).map((n) => n.dNSName!);
          break;
        }
        default:
          if (ext.critical && !UNDERSTOOD_EXTENSIONS.has(ext.extnID)) out.unknownCritical = [...out.unknownCritical, ext.extnID];
      }
    } catch (err) {
      throw new Error(`extension ${ext.extnID} does not decode (${(err as Error).message})`, { cause: err });
    }
  }
  return out;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const KEY_NAMES: Record<string, string> = { rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448' };

function describeKey(key: KeyObject): { keyType: string; rsaBits: number | undefined } {
  const type = key.asymmetricKeyType ?? 'unknown';
  const { namedCurve, modulusLength } = key.asymmetricKeyDetails ?? {};
  const name = KEY_NAMES[type] ?? type.toUpperCase();
  if (type === 'ec') return { keyType: `EC ${CURVES[namedCurve ?? ''] ?? namedCurve}`, rsaBits: undefined };
  if (modulusLength !== undefined) return { keyType: `${name} ${modulusLength}`, rsaBits: modulusLength };
  return { keyType: name, rsaBits: undefined };
}

/**
 * True when `parent` issued `child`: the names chain (or OpenSSL's own issuer check agrees) and
 * `child`'s signature verifies with `parent`'s public key. Name matching alone is not enough, and
 * key-usage is deliberately not part of this test so a signer lacking keyCertSign is reported as
 * such rather than as "untrusted".
 */
export function namesChain(parent: CertFacts, child: CertFacts): boolean {
  return parent.subjectDer.equals(child.issuerDer) || child.node.checkIssued(parent.node);
}

/** True when `child`'s signature verifies with `parent`'s public key. */
export function signatureVerifies(parent: CertFacts, child: CertFacts): boolean {
  try {
    return child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}
