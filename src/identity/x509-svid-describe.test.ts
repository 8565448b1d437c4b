// Reading a certificate without validating it: describeSvid (for display) and spiffeIdOfCertificate
// (the cheap per-connection read of a peer leaf's SPIFFE ID).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TestPki, type TestCert } from '../../test/helpers/pki.js';
import { SvidError, type SvidErrorCode } from './errors.js';
import { parseSpiffeId } from './spiffe-id.js';
import { rootFingerprint } from './trust-bundle.js';
import { describeSvid, spiffeIdOfCertificate } from './x509-svid.js';

const pki = new TestPki({ now: Date.UTC(2026, 0, 1) });
const ID = 'spiffe://example.org/ns/default/sa/web';
const T0 = pki.now.getTime();
let root: TestCert;
let inter: TestCert;
let leaf: TestCert;

before(async () => {
  root = await pki.root('example.org');
  inter = await pki.intermediate(root);
  leaf = await pki.leaf(inter, ID);
});

function codeOf(fn: () => unknown): SvidErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof SvidError) return err.code;
    throw err;
  }
}

describe('spiffeIdOfCertificate', () => {
  test('ok/reads the ID from a node X509Certificate, a Buffer or a Uint8Array', async () => {
    const leaf = await pki.leaf(root, ID, { dnsNames: ['web.default.svc'] });
    assert.deepEqual(spiffeIdOfCertificate(new X509Certificate(leaf.der)), parseSpiffeId(ID));
    assert.deepEqual(spiffeIdOfCertificate(leaf.der), parseSpiffeId(ID));
    assert.deepEqual(spiffeIdOfCertificate(new Uint8Array(leaf.der)), parseSpiffeId(ID));
  });

  test('ok/a DNS name that spells ", URI:" is not taken for a second URI SAN', async () => {
    const leaf = await pki.leaf(root, ID, { dnsNames: ['x, URI:spiffe://evil.org/admin', 'q"uo\\te'] });
    assert.match(new X509Certificate(leaf.der).subjectAltName ?? '', /DNS:"x\\u002c URI:spiffe:\/\/evil.org\/admin"/);
    assert.equal(spiffeIdOfCertificate(leaf.der).text, ID);
  });

  test('fail/a DNS name that spells a URI SAN is still no URI SAN', async () => {
    const leaf = await pki.leaf(root, null, { dnsNames: ['web, URI:spiffe://evil.org/admin'] });
    assert.equal(codeOf(() => spiffeIdOfCertificate(leaf.der)), 'WEFT_SVID_NO_URI_SAN');
  });

  const cases: { name: string; build: () => Promise<TestCert>; code: SvidErrorCode }[] = [
    { name: 'fail/no SAN at all', build: () => pki.leaf(root, null), code: 'WEFT_SVID_NO_URI_SAN' },
    { name: 'fail/two URI SANs', build: () => pki.leaf(root, ID, { uris: [ID, 'spiffe://example.org/b'] }), code: 'WEFT_SVID_MULTIPLE_URI_SANS' },
    { name: 'fail/a URI SAN with a comma (quoted by node)', build: () => pki.leaf(root, 'spiffe://example.org/a,b'), code: 'WEFT_SVID_BAD_SPIFFE_ID' },
    { name: 'fail/not a SPIFFE ID', build: () => pki.leaf(root, 'https://example.org/web'), code: 'WEFT_SVID_BAD_SPIFFE_ID' },
    { name: 'fail/the root path', build: () => pki.leaf(root, 'spiffe://example.org'), code: 'WEFT_SVID_ROOT_PATH' },
    { name: 'fail/a CA certificate', build: () => pki.leaf(root, ID, { ca: true, keyUsage: ['digitalSignature', 'keyCertSign'] }), code: 'WEFT_SVID_LEAF_IS_CA' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const cert = await c.build();
      assert.equal(codeOf(() => spiffeIdOfCertificate(cert.der)), c.code);
    });
  }

  test('cA=true without keyCertSign (not a usable CA) is left to verifyX509Svid', async () => {
    // node's X509Certificate.ca is OpenSSL's X509_check_ca: such a certificate cannot sign others,
    // so it cannot mint identities; the full check still refuses it as a leaf.
    const cert = await pki.leaf(root, ID, { ca: true });
    assert.equal(codeOf(() => spiffeIdOfCertificate(cert.der)), 'ok');
  });

  test('fail/bytes that are not a certificate', () => {
    assert.equal(codeOf(() => spiffeIdOfCertificate(Buffer.from('not a certificate'))), 'WEFT_SVID_MALFORMED');
  });

  test('agrees with the full decode for arbitrary SAN lists', async () => {
    const sanText = fc.string({ unit: 'binary-ascii', maxLength: 30 });
    const sanEntry = fc.oneof(
      fc.record({ type: fc.constant('url' as const), value: fc.oneof(sanText, fc.constant(ID), sanText.map((s) => `spiffe://example.org/${s}`)) }),
      fc.record({ type: fc.constant('dns' as const), value: sanText }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(sanEntry, { maxLength: 4 }), async (names) => {
        const uris = names.filter((n) => n.type === 'url').map((n) => n.value);
        const dnsNames = names.filter((n) => n.type === 'dns').map((n) => n.value);
        const leaf = await pki.leaf(root, null, { uris, dnsNames });
        const fast = codeOf(() => spiffeIdOfCertificate(leaf.der));
        let expected: SvidErrorCode | 'ok' = codeOf(() => describeSvid(leaf.der));
        if (expected === 'ok' && describeSvid(leaf.der).spiffeId.path === '') expected = 'WEFT_SVID_ROOT_PATH';
        assert.equal(fast, expected, JSON.stringify(names));
        if (fast === 'ok') assert.deepEqual(spiffeIdOfCertificate(leaf.der), describeSvid(leaf.der).spiffeId);
      }),
      { numRuns: 60 },
    );
  });
});

describe('describeSvid', () => {
  test('describes a leaf without judging it', async () => {
    const leaf = await pki.leaf(inter, ID, { keyType: 'RSA 2048', notAfter: new Date(T0 - 1000) });
    const info = describeSvid(leaf.der);
    const node = new X509Certificate(leaf.der);
    assert.equal(info.spiffeId.text, ID);
    assert.equal(info.serial, node.serialNumber.toLowerCase());
    assert.match(info.serial, /^[0-9a-f]+$/);
    assert.equal(info.keyType, 'RSA 2048');
    assert.equal(info.subject, 'CN=web, O=weft test');
    assert.equal(info.issuer, inter.subject);
    assert.equal(info.notAfter.getTime(), T0 - 1000);
    assert.equal(info.fingerprint, rootFingerprint(leaf.der));
    assert.equal(info.fingerprint, `sha256:${node.fingerprint256.replaceAll(':', '').toLowerCase()}`);
  });

  for (const [keyType, expect] of [['EC P-256', 'EC P-256'], ['EC P-384', 'EC P-384'], ['RSA 1024', 'RSA 1024'], ['Ed25519', 'Ed25519']] as const) {
    test(`names the key type ${expect}`, async () => {
      assert.equal(describeSvid((await pki.leaf(inter, ID, { keyType })).der).keyType, expect);
    });
  }

  test('fail/throws for a certificate without exactly one valid URI SAN', async () => {
    assert.throws(() => describeSvid(root.der.subarray(1)), { code: 'WEFT_SVID_MALFORMED' });
    assert.throws(() => describeSvid(inter.der), { code: 'WEFT_SVID_NO_URI_SAN' });
    const twoUris = await pki.leaf(inter, ID, { uris: [ID, ID] });
    const badUri = await pki.leaf(inter, 'spiffe://td/a b');
    assert.throws(() => describeSvid(twoUris.der), { code: 'WEFT_SVID_MULTIPLE_URI_SANS' });
    assert.throws(() => describeSvid(badUri.der), { code: 'WEFT_SVID_BAD_SPIFFE_ID' });
  });

  test('returned dates are copies', () => {
    const a = describeSvid(leaf.der);
    a.notAfter.setTime(0);
    assert.equal(describeSvid(leaf.der).notAfter.getTime(), leaf.cert.notAfter.getTime());
  });
});
