// What an issued X.509-SVID holds, read back two independent ways: node:crypto's X509Certificate
// (OpenSSL's parser) and the identity domain's readCertificate (@peculiar's ASN.1 schema), for a
// self-signed CA and for a plug-in intermediate; and that verifyX509Svid accepts every leaf.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { bundleFromPem, readCertificate, verifyX509Svid } from '../identity/index.js';
import { FrozenClock } from '../lib/clock.js';
import { x509 } from '../lib/x509.js';
import { CertificateAuthority, type IssuedSvid } from './certificate-authority.js';
import { chainDer, cleanupAll, CRED, HOUR, ID, makeCsr, newCa, pluginCa, scratch, T0, TD, type CsrKeyType } from './testing/fixtures.js';
import { TestPki } from '../../test/helpers/pki.js';

after(cleanupAll);
const pki = new TestPki({ now: T0 });
const clock = () => new FrozenClock(T0);
const EKU_SERVER = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2';

interface Mode {
  name: string;
  ca: CertificateAuthority;
  /** The certificate that signs the leaves. */
  signer: X509Certificate;
  root: X509Certificate;
}
const modes: Mode[] = [];

before(async () => {
  const self = newCa().ca;
  const selfRoot = new X509Certificate(self.bundlePem());
  modes.push({ name: 'self-signed', ca: self, signer: selfRoot, root: selfRoot });
  for (const depth of [1, 2]) {
    const plugin = await pluginCa(pki, { depth });
    const ca = CertificateAuthority.initFromPlugin(scratch(), plugin.dir, { clock: clock() });
    modes.push({ name: `plug-in intermediate, ${depth} level(s) under the root`, ca, signer: new X509Certificate(plugin.chain[0]!.der), root: new X509Certificate(plugin.root.der) });
  }
});

const KEYS: { keyType: CsrKeyType; keyUsage: number }[] = [
  { keyType: 'EC P-256', keyUsage: x509.KeyUsageFlags.digitalSignature },
  { keyType: 'EC P-384', keyUsage: x509.KeyUsageFlags.digitalSignature },
  { keyType: 'RSA 2048', keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment },
];

/** Every check on one issued leaf, against the CA that signed it. */
function checkLeaf(svid: IssuedSvid, mode: Mode, keyType: string, keyUsage: number, ttlMs: number): void {
  // node:crypto (OpenSSL)
  const node = new X509Certificate(svid.leafDer);
  assert.equal(node.subject || '', '', 'an empty subject');
  assert.equal(node.subjectAltName, `URI:${ID}`);
  assert.equal(node.ca, false);
  assert.deepEqual(node.keyUsage, [EKU_SERVER, EKU_CLIENT]);
  assert.equal(node.serialNumber.length, 32, 'a 16-byte serial');
  assert.ok(Number.parseInt(node.serialNumber[0]!, 16) < 8, 'a positive serial needs no leading zero byte');
  assert.equal(node.serialNumber.toLowerCase(), svid.serial);
  assert.equal(new Date(node.validFrom).getTime(), T0 - 10_000);
  assert.equal(new Date(node.validTo).getTime(), T0 + ttlMs);
  assert.ok(node.checkIssued(mode.signer), 'issuer name is the signer subject');
  assert.ok(node.verify(mode.signer.publicKey), 'signed by the signer');
  assert.equal(node.publicKey.asymmetricKeyType, keyType.startsWith('RSA') ? 'rsa' : 'ec');

  // @peculiar ASN.1 (readCertificate and the extension objects)
  const facts = readCertificate(svid.leafDer);
  assert.deepEqual([...facts.uris], [ID]);
  assert.deepEqual([...facts.dnsNames], []);
  assert.deepEqual(facts.basicConstraints, { ca: false, pathLength: undefined });
  assert.equal(facts.keyUsage, keyUsage);
  assert.deepEqual(facts.extKeyUsage, [EKU_SERVER, EKU_CLIENT]);
  assert.equal(facts.keyType, keyType);
  assert.equal(facts.notBefore.getTime(), T0 - 10_000);
  assert.equal(facts.notAfter.getTime(), T0 + ttlMs);
  assert.deepEqual(facts.unknownCritical, []);
  assert.equal(facts.subject, '');
  const cert = new x509.X509Certificate(svid.leafDer);
  assert.equal(cert.subjectName.toArrayBuffer().byteLength, 2, 'the subject is an empty SEQUENCE');
  assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)!.critical, true, 'the SAN is critical since the subject is empty');
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)!.critical, true);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.critical, true);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  const signerSki = new x509.X509Certificate(mode.signer.raw).getExtension(x509.SubjectKeyIdentifierExtension)!;
  assert.equal(aki.keyId, signerSki.keyId, 'AKI = the signer SKI');
  assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.length === 40, 'a SHA-1 SKI');
  assert.deepEqual(
    [...cert.extensions].map((e) => e.type),
    ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '2.5.29.17'],
  );

  // what the IssuedSvid reports
  assert.equal(svid.keyType, keyType);
  assert.equal(svid.notAfter.getTime(), T0 + ttlMs);
  assert.equal(svid.leafPem, `-----BEGIN CERTIFICATE-----\n${svid.leafDer.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`);
  assert.equal(svid.bundlePem, mode.ca.bundlePem());
  assert.ok(new X509Certificate(svid.bundlePem).raw.equals(mode.root.raw), 'the bundle is the root');

  // the identity domain accepts it, with its chain, against the bundle
  const info = verifyX509Svid(chainDer(svid), bundleFromPem(TD, svid.bundlePem), { clock: clock() });
  assert.equal(info.spiffeId.text, ID);
  assert.equal(info.serial, svid.serial);
}

describe('an issued X.509-SVID, read with node:crypto and readCertificate', () => {
  for (const { keyType, keyUsage } of KEYS) {
    test(`ok/${keyType} CSR, under each signer`, async () => {
      const csr = await makeCsr({ keyType });
      for (const mode of modes) {
        await test(mode.name, () => checkLeaf(mode.ca.issue(csr.der, { credential: CRED }), mode, keyType, keyUsage, HOUR));
      }
    });
  }

  test('ok/mint (a key made by the CA) gives the same certificate shape for each key type', () => {
    const kinds = [
      ['ec-p256', 'EC P-256', x509.KeyUsageFlags.digitalSignature],
      ['ec-p384', 'EC P-384', x509.KeyUsageFlags.digitalSignature],
      ['rsa-2048', 'RSA 2048', x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment],
    ] as const;
    for (const mode of modes) {
      for (const [kind, keyType, keyUsage] of kinds) {
        const svid = mode.ca.mint(ID, { keyType: kind, ttlMs: 2 * HOUR });
        checkLeaf(svid, mode, keyType, keyUsage, 2 * HOUR);
        assert.ok(new X509Certificate(svid.leafDer).checkPrivateKey(createPrivateKey(svid.keyPem)), 'the key is the certificate key');
      }
    }
  });

  test('ok/serials are distinct across many issuances', async () => {
    const csr = (await makeCsr()).der;
    const { ca } = newCa();
    const serials = new Set(Array.from({ length: 300 }, () => ca.issue(csr, { credential: CRED }).serial));
    assert.equal(serials.size, 300);
    for (const s of serials) assert.match(s, /^(?!00)[0-7][0-9a-f]{31}$/, '16 bytes, positive, minimal');
  });
});

