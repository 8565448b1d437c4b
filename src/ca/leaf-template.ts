// Assembles X.509-SVID leaves (RFC 5280 §4.1, SPIFFE X509-SVID §4) from parts encoded once per
// signer; per certificate only the serial, validity, public key, key identifier and SAN change.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, octetString, oid, seq, time, tlv, unsignedInteger } from '../lib/der.js';

const TRUE = Buffer.from([0x01, 0x01, 0xff]);
const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
const EMPTY_NAME = Buffer.from([0x30, 0x00]);

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), TRUE, octetString(value)) : seq(oid(id), octetString(value));
}

// basicConstraints cA=FALSE (the empty SEQUENCE), critical.
const BASIC_CONSTRAINTS = extension('2.5.29.19', true, seq());
// keyUsage digitalSignature (bit 0); RSA keys add keyEncipherment (bit 2). Critical, as X509-SVID §4.3 says.
const KEY_USAGE_EC = extension('2.5.29.15', true, Buffer.from([0x03, 0x02, 0x07, 0x80]));
const KEY_USAGE_RSA = extension('2.5.29.15', true, Buffer.from([0x03, 0x02, 0x05, 0xa0]));
// extendedKeyUsage serverAuth + clientAuth.
const EXT_KEY_USAGE = extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')));

/** How the signer signs: the digest, and the AlgorithmIdentifier that names it. */
export interface SignatureScheme {
  readonly hash: 'sha256' | 'sha384';
  readonly algorithmIdentifier: Buffer;
}

export function signatureSchemeFor(key: KeyObject): SignatureScheme {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return { hash: 'sha384', algorithmIdentifier: seq(oid('1.2.840.10045.4.3.3')) };
    return { hash: 'sha256', algorithmIdentifier: seq(oid('1.2.840.10045.4.3.2')) };
  }
  // sha256WithRSAEncryption, with its NULL parameters.
  return { hash: 'sha256', algorithmIdentifier: seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00])) };
}

export interface LeafRequest {
  readonly spki: Buffer;
  readonly publicKeyBits: Buffer;
  readonly isRsa: boolean;
  readonly uri: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface SignedLeaf {
  readonly der: Buffer;
  /** Lowercase hex, as printed everywhere. */
  readonly serial: string;
}

/** The per-signer constant parts of every leaf, and the signing of one. */
export class LeafTemplate {
  readonly #key: KeyObject;
  readonly #scheme: SignatureScheme;
  readonly #issuer: Buffer;
  readonly #authorityKeyId: Buffer;

  /**
   * @param issuerName DER of the signer certificate's subject Name, copied verbatim so chain
   *   building matches it byte for byte.
   * @param signerKeyId the signer's subject key identifier, for the leaf's authority key identifier.
   */
  constructor(key: KeyObject, issuerName: Buffer, signerKeyId: Buffer) {
    this.#key = key;
    this.#scheme = signatureSchemeFor(key);
    this.#issuer = issuerName;
    this.#authorityKeyId = extension('2.5.29.35', false, seq(tlv(0x80, signerKeyId)));
  }

  sign(req: LeafRequest): SignedLeaf {
    // A random 16-byte positive serial (RFC 5280 allows up to 20 octets). The top two bits are fixed
    // to 01 so the INTEGER is positive and its hex never starts with a zero digit: 126 random bits.
    const serialBytes = randomBytes(16);
    serialBytes[0] = (serialBytes[0]! & 0x3f) | 0x40;
    const subjectKeyId = createHash('sha1').update(req.publicKeyBits).digest();
    const extensions = tlv(
      0xa3,
      seq(
        BASIC_CONSTRAINTS,
        req.isRsa ? KEY_USAGE_RSA : KEY_USAGE_EC,
        EXT_KEY_USAGE,
        extension('2.5.29.14', false, octetString(subjectKeyId)),
        this.#authorityKeyId,
        // The subject is empty, so the SAN is critical (RFC 5280 §4.1.2.6, X509-SVID §2).
        extension('2.5.29.17', true, seq(tlv(0x86, Buffer.from(req.uri, 'latin1')))),
      ),
    );
    const tbs = seq(
      VERSION_3,
      unsignedInteger(serialBytes),
      this.#scheme.algorithmIdentifier,
      this.#issuer,
      seq(time(req.notBefore), time(req.notAfter)),
      EMPTY_NAME,
      req.spki,
      extensions,
    );
    const signature = sign(this.#scheme.hash, tbs, this.#key);
    return { der: seq(tbs, this.#scheme.algorithmIdentifier, bitString(signature)), serial: serialBytes.toString('hex') };
  }
}
