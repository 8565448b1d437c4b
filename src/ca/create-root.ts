import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, children, expectTlv, octetString, oid, seq, tlv, time, unsignedInteger, TAG } from '../lib/der.js';
import { signatureSchemeFor } from './leaf-template.js';

const TRUE = Buffer.from([0x01, 0x01, 0xff]);

function rdn(type: string, value: string): Buffer {
  return tlv(TAG.SET, seq(oid(type), tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'))));
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo. */
export function publicKeyBits(spki: Buffer): Buffer {
  const outer = expectTlv(spki, 0, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const bits = children(spki, outer)[1]!;
  return spki.subarray(bits.start + 1, bits.end);
}

export interface NewRoot {
  certDer: Buffer;
  key: KeyObject;
}

/**
 * A self-signed ECDSA P-256 root for `trustDomain`: subject O=weft, CN=weft root CA, the trust
 * domain's own ID (spiffe://<td>) as URI SAN (X509-SVID §2: a signing certificate SHOULD carry
 * it, without a path), CA:TRUE and keyCertSign+cRLSign, both critical.
 */
export function createRoot(trustDomain: string, notBefore: number, notAfter: number): NewRoot {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha1').update(publicKeyBits(spki)).digest();
  const name = seq(rdn('2.5.4.10', 'weft'), rdn('2.5.4.3', `weft root CA ${trustDomain}`));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const scheme = signatureSchemeFor(privateKey);
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), TRUE, octetString(seq(TRUE))),
      // keyCertSign (bit 5) and cRLSign (bit 6): one unused bit.
      seq(oid('2.5.29.15'), TRUE, octetString(Buffer.from([0x03, 0x02, 0x01, 0x06]))),
      seq(oid('2.5.29.14'), octetString(octetString(keyId))),
      seq(oid('2.5.29.17'), octetString(seq(tlv(0x86, Buffer.from(`spiffe://${trustDomain}`, 'latin1'))))),
    ),
  );
  const tbs = seq(
    Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]),
    unsignedInteger(serial),
    scheme.algorithmIdentifier,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    extensions,
  );
  const certDer = seq(tbs, scheme.algorithmIdentifier, bitString(sign(scheme.hash, tbs, privateKey)));
  return { certDer, key: privateKey };
}
