// Reads a PKCS#10 certification request (RFC 2986) with the lean DER reader: only what signing an
// X.509-SVID needs (the subject public key, the requested extensions, the signature).
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { children, decodeOid, expectTlv, readTlv, TAG, type Tlv } from '../lib/der.js';
import { isWeftError } from '../lib/errors.js';
import { CaError } from './errors.js';

const OID = {
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

/** Signature algorithms a CSR may be signed with, and the digest each uses. */
const CSR_SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

export type KeyType = 'EC P-256' | 'EC P-384' | `RSA ${number}`;

export interface ParsedCsr {
  /** The SubjectPublicKeyInfo, verbatim, to be copied into the certificate. */
  readonly spki: Buffer;
  /** The subjectPublicKey bits (for the subject key identifier). */
  readonly publicKeyBits: Buffer;
  readonly publicKey: KeyObject;
  readonly keyType: KeyType;
  readonly isRsa: boolean;
  /** The one requested URI SAN. */
  readonly uri: string;
}

const PEM_CSR = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END (?:NEW )?CERTIFICATE REQUEST-----/;

/** DER from DER or PEM input. */
export function csrBytes(csr: Uint8Array | string): Buffer {
  if (typeof csr !== 'string') return Buffer.from(csr.buffer, csr.byteOffset, csr.byteLength);
  const m = PEM_CSR.exec(csr);
  if (!m) throw new CaError('WEFT_CSR_MALFORMED', 'CSR is not PEM "CERTIFICATE REQUEST" or DER');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/**
 * Parses and checks a CSR: its structure, its self-signature, its key (ECDSA P-256/P-384 or RSA
 * of at least 2048 bits), exactly one SAN which is a URI, and no request for a CA certificate.
 *
 * @throws CaError with a WEFT_CSR_* code naming what is wrong.
 */
export function parseCsr(input: Uint8Array | string): ParsedCsr {
  const der = csrBytes(input);
  // The DER reader is used all the way down (key, attributes, extensions), not only for the outer
  // structure: a malformed TLV anywhere is a malformed CSR, never a bare WEFT_DER_MALFORMED.
  try {
    return parseCsrDer(der);
  } catch (err) {
    if (isWeftError(err, 'WEFT_DER_MALFORMED')) throw new CaError('WEFT_CSR_MALFORMED', `CSR is not a PKCS#10 request: ${err.message}`, { cause: err });
    throw err;
  }
}

function parseCsrDer(der: Buffer): ParsedCsr {
  const parts = readStructure(der);
  const spki = der.subarray(parts.spki.offset, parts.spki.end);
  const { keyType, isRsa, publicKey, publicKeyBits } = readKey(der, parts.spki, spki);
  const hash = CSR_SIGNATURE_HASH[parts.sigAlg];
  if (!hash) throw new CaError('WEFT_CSR_UNSUPPORTED_KEY', `CSR signature algorithm ${parts.sigAlg} is not accepted (use ECDSA or RSA PKCS#1 v1.5 with SHA-2)`);
  const signedBytes = der.subarray(parts.cri.offset, parts.cri.end);
  let good: boolean;
  try {
    good = verify(hash, signedBytes, publicKey, parts.signature);
  } catch {
    good = false;
  }
  if (!good) throw new CaError('WEFT_CSR_BAD_SIGNATURE', 'CSR signature does not verify with its own public key');
  const uri = readRequestedSan(der, parts.attributes);
  return { spki: Buffer.from(spki), publicKeyBits, publicKey, keyType, isRsa, uri };
}

function readStructure(der: Buffer) {
  const outer = expectTlv(der, 0, TAG.SEQUENCE, 'CertificationRequest');
  if (outer.end !== der.length) throw new CaError('WEFT_CSR_MALFORMED', 'CSR has trailing bytes');
  const [cri, sigAlgSeq, sig, extra] = children(der, outer);
  if (!cri || cri.tag !== TAG.SEQUENCE || !sigAlgSeq || sigAlgSeq.tag !== TAG.SEQUENCE || !sig || sig.tag !== TAG.BIT_STRING || extra) {
    throw new CaError('WEFT_CSR_MALFORMED', 'CSR is not SEQUENCE { info, algorithm, signature }');
  }
  const info = children(der, cri);
  const [version, subject, spki, attributes] = info;
  if (!version || version.tag !== TAG.INTEGER || version.end - version.start !== 1 || der[version.start] !== 0) {
    throw new CaError('WEFT_CSR_MALFORMED', 'CSR version must be 0 (v1)');
  }
  if (!subject || subject.tag !== TAG.SEQUENCE || !spki || spki.tag !== TAG.SEQUENCE) {
    throw new CaError('WEFT_CSR_MALFORMED', 'CSR has no subject or public key');
  }
  if (attributes && attributes.tag !== 0xa0) throw new CaError('WEFT_CSR_MALFORMED', 'CSR attributes are not [0] SET');
  const sigAlg = decodeOid(der, expectTlv(der, sigAlgSeq.start, TAG.OID, 'signature algorithm', sigAlgSeq.end));
  if (der[sig.start] !== 0) throw new CaError('WEFT_CSR_MALFORMED', 'CSR signature BIT STRING has unused bits');
  return { cri, spki, attributes, sigAlg, signature: der.subarray(sig.start + 1, sig.end) };
}

function readKey(der: Buffer, spkiTlv: Tlv, spki: Buffer): { keyType: KeyType; isRsa: boolean; publicKey: KeyObject; publicKeyBits: Buffer } {
  const [algSeq, bits] = children(der, spkiTlv);
  if (!algSeq || algSeq.tag !== TAG.SEQUENCE || !bits || bits.tag !== TAG.BIT_STRING) {
    throw new CaError('WEFT_CSR_MALFORMED', 'CSR public key is not a SubjectPublicKeyInfo');
  }
  const [algOid, params] = children(der, algSeq);
  const alg = algOid && algOid.tag === TAG.OID ? decodeOid(der, algOid) : '';
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw new CaError('WEFT_CSR_MALFORMED', 'CSR public key does not decode', { cause: err });
  }
  const publicKeyBits = der.subarray(bits.start + 1, bits.end);
  if (alg === OID.ecPublicKey) {
    const curve = params && params.tag === TAG.OID ? decodeOid(der, params) : '';
    if (curve === OID.p256) return { keyType: 'EC P-256', isRsa: false, publicKey, publicKeyBits };
    if (curve === OID.p384) return { keyType: 'EC P-384', isRsa: false, publicKey, publicKeyBits };
    throw new CaError('WEFT_CSR_UNSUPPORTED_KEY', `CSR key is an EC key on curve ${curve || '(unnamed)'}: only P-256 and P-384 are accepted`);
  }
  if (alg === OID.rsaEncryption) {
    const bitsLen = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bitsLen < 2048) throw new CaError('WEFT_CSR_UNSUPPORTED_KEY', `CSR key is RSA ${bitsLen}: RSA keys must have at least 2048 bits`);
    if (bitsLen > 8192) throw new CaError('WEFT_CSR_UNSUPPORTED_KEY', `CSR key is RSA ${bitsLen}: at most 8192 bits are accepted`);
    return { keyType: `RSA ${bitsLen}`, isRsa: true, publicKey, publicKeyBits };
  }
  const name = publicKey.asymmetricKeyType ?? alg;
  throw new CaError('WEFT_CSR_UNSUPPORTED_KEY', `CSR key type ${name} is not accepted: use ECDSA P-256 or P-384, or RSA of 2048 bits or more`);
}

/** The URI of the one SAN the CSR asks for; refuses any other SAN, several, none, or cA=TRUE. */
function readRequestedSan(der: Buffer, attributes: Tlv | undefined): string {
  let sans: Tlv[] | undefined;
  for (const attr of attributes ? children(der, attributes) : []) {
    const [type, values] = children(der, attr);
    if (!type || type.tag !== TAG.OID || decodeOid(der, type) !== OID.extensionRequest || !values) continue;
    for (const extsSeq of children(der, values)) {
      for (const ext of children(der, extsSeq)) {
        const fields = children(der, ext);
        const id = decodeOid(der, fields[0]!);
        const value = fields[fields.length - 1]!;
        if (value.tag !== TAG.OCTET_STRING) throw new CaError('WEFT_CSR_MALFORMED', `CSR extension ${id} has no value`);
        const inner = readTlv(der, value.start, value.end);
        if (id === OID.subjectAltName) {
          if (sans) throw new CaError('WEFT_CSR_SAN_COUNT', 'CSR asks for the subjectAltName extension twice');
          sans = children(der, inner);
        } else if (id === OID.basicConstraints) {
          const bc = children(der, inner);
          if (bc[0]?.tag === TAG.BOOLEAN && der[bc[0].start] !== 0) throw new CaError('WEFT_CSR_REQUESTS_CA', 'CSR asks for a CA certificate (basicConstraints cA=TRUE); an X.509-SVID leaf is never a CA');
        }
      }
    }
  }
  if (!sans || sans.length === 0) throw new CaError('WEFT_CSR_SAN_COUNT', 'CSR asks for no subjectAltName: it must ask for exactly one, the SPIFFE ID as a URI');
  if (sans.length > 1) throw new CaError('WEFT_CSR_SAN_COUNT', `CSR asks for ${sans.length} subjectAltNames: an X.509-SVID has exactly one, the SPIFFE ID as a URI`);
  const san = sans[0]!;
  if (san.tag !== 0x86) throw new CaError('WEFT_CSR_SAN_COUNT', `CSR's subjectAltName is not a URI (GeneralName tag [${san.tag & 0x1f}])`);
  return der.subarray(san.start, san.end).toString('latin1');
}
