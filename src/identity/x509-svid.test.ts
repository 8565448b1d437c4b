// X.509-SVID validation (X509-SVID.md §4, §5): every rule has a case built by changing one thing in
// a valid baseline, and asserts the exact code.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { x509 } from '../lib/x509.js';
import { TestPki, type CertSpec, type TestCert } from '../../test/helpers/pki.js';
import { IDENTITY_ERROR_CODES, SvidError, type SvidErrorCode } from './errors.js';
import { bundleFromPem, createTrustBundle, TrustBundleSet, type TrustBundle } from './trust-bundle.js';
import { checkX509Svid, verifyX509Svid } from './x509-svid.js';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const pki = new TestPki({ now: T0 });
const clock = new FrozenClock(T0);
const ID = 'spiffe://example.org/ns/default/sa/web';

interface Fixture {
  root: TestCert;
  inter: TestCert;
  leaf: TestCert;
  otherRoot: TestCert;
  bundle: TrustBundle;
  otherBundle: TrustBundle;
  both: TrustBundleSet;
}
let f: Fixture;

before(async () => {
  const root = await pki.root('example.org');
  const inter = await pki.intermediate(root);
  const otherRoot = await pki.root('other.org');
  f = {
    root,
    inter,
    otherRoot,
    leaf: await pki.leaf(inter, ID),
    bundle: bundleFromPem('example.org', root.pem),
    otherBundle: bundleFromPem('other.org', otherRoot.pem),
    both: new TrustBundleSet([bundleFromPem('example.org', root.pem), bundleFromPem('other.org', otherRoot.pem)]),
  };
});

/** A leaf under the baseline intermediate with one property changed. */
const leafWith = (spec: CertSpec, id: string | null = ID): Promise<TestCert> => pki.leaf(f.inter, id, spec);
const chainOf = (...certs: TestCert[]): Buffer[] => certs.map((c) => c.der);

interface Case {
  name: string;
  build: () => Promise<{ chain: readonly Uint8Array[]; bundles?: TrustBundle | TrustBundleSet; at?: number }>;
  /** undefined: valid. */
  code?: SvidErrorCode;
  message?: string | RegExp;
}

const CASES: Case[] = [
  // --- valid ---
  { name: 'ok/leaf through an intermediate', build: async () => ({ chain: chainOf(f.leaf, f.inter) }) },
  { name: 'ok/leaf signed by the root directly', build: async () => ({ chain: chainOf(await pki.leaf(f.root, ID)) }) },
  { name: 'ok/the chain may also carry the root', build: async () => ({ chain: chainOf(f.leaf, f.inter, f.root) }) },
  {
    name: 'ok/two intermediates sent in any order',
    build: async () => {
      const i2 = await pki.intermediate(f.inter);
      return { chain: chainOf(await pki.leaf(i2, ID), f.inter, i2) };
    },
  },
  {
    name: 'ok/an unrelated extra certificate in the chain is ignored',
    build: async () => ({ chain: chainOf(f.leaf, await pki.intermediate(f.otherRoot), f.inter) }),
  },
  { name: 'ok/leaf without extendedKeyUsage', build: async () => ({ chain: chainOf(await leafWith({ extKeyUsage: null }), f.inter) }) },
  { name: 'ok/leaf with only digitalSignature', build: async () => ({ chain: chainOf(await leafWith({ keyUsage: ['digitalSignature'] }), f.inter) }) },
  { name: 'ok/DNS SANs besides the URI SAN', build: async () => ({ chain: chainOf(await leafWith({ dnsNames: ['web.default.svc', 'web'] }), f.inter) }) },
  { name: 'ok/empty subject with a critical SAN', build: async () => ({ chain: chainOf(await leafWith({ subject: '' }), f.inter) }) },
  { name: 'ok/EC P-384 leaf', build: async () => ({ chain: chainOf(await leafWith({ keyType: 'EC P-384' }), f.inter) }) },
  { name: 'ok/RSA 2048 leaf', build: async () => ({ chain: chainOf(await leafWith({ keyType: 'RSA 2048' }), f.inter) }) },
  {
    name: 'ok/Ed25519 root and leaf',
    build: async () => {
      const root = await pki.root('example.org', { keyType: 'Ed25519' });
      return { chain: chainOf(await pki.leaf(root, ID, { keyType: 'Ed25519' })), bundles: bundleFromPem('example.org', root.pem) };
    },
  },
  {
    name: 'ok/RSA root without a SPIFFE ID',
    build: async () => {
      const root = await pki.root('example.org', { keyType: 'RSA 2048', uris: [] });
      return { chain: chainOf(await pki.leaf(root, ID)), bundles: bundleFromPem('example.org', root.pem) };
    },
  },
  {
    name: 'ok/pathLenConstraint 0 on the intermediate just above the leaf',
    build: async () => {
      const inter = await pki.intermediate(f.root, { pathLength: 0 });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'ok/six intermediates make an eight-certificate path, the most allowed',
    build: async () => {
      const inters = await ladder(6);
      return { chain: chainOf(await pki.leaf(inters.at(-1)!, ID), ...inters.reverse()) };
    },
  },
  { name: 'ok/at the leaf notBefore exactly', build: async () => ({ chain: chainOf(f.leaf, f.inter), at: f.leaf.cert.notBefore.getTime() }) },
  { name: 'ok/at the leaf notAfter exactly', build: async () => ({ chain: chainOf(f.leaf, f.inter), at: f.leaf.cert.notAfter.getTime() }) },
  { name: 'ok/a set holding the leaf trust domain among others', build: async () => ({ chain: chainOf(f.leaf, f.inter), bundles: f.both }) },

  // --- the chain itself ---
  { name: 'fail/empty chain', code: 'WEFT_SVID_EMPTY_CHAIN', message: 'the certificate chain is empty', build: async () => ({ chain: [] }) },
  { name: 'fail/leaf is not DER', code: 'WEFT_SVID_MALFORMED', message: /^the leaf certificate is not a well-formed/, build: async () => ({ chain: [Buffer.from('hello')] }) },
  {
    name: 'fail/bytes after the leaf certificate',
    code: 'WEFT_SVID_MALFORMED',
    message: '3 bytes follow the certificate',
    build: async () => ({ chain: [Buffer.concat([f.leaf.der, Buffer.from([0, 1, 2])]), f.inter.der] }),
  },
  {
    name: 'fail/an intermediate is not DER',
    code: 'WEFT_SVID_MALFORMED',
    message: 'intermediate certificate 1 of the chain',
    build: async () => ({ chain: [f.leaf.der, Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])] }),
  },
  {
    name: 'fail/an extension that does not decode',
    code: 'WEFT_SVID_MALFORMED',
    message: 'extension 2.5.29.15 does not decode',
    build: async () => ({ chain: chainOf(await leafWith({ keyUsage: null, extraExtensions: [new x509.Extension('2.5.29.15', true, new Uint8Array([1, 2, 3]))] }), f.inter) }),
  },
  {
    name: 'fail/a root of a hand-made bundle is not DER',
    code: 'WEFT_SVID_MALFORMED',
    message: 'root 1 of the example.org trust bundle',
    build: async () => ({ chain: chainOf(f.leaf, f.inter), bundles: { trustDomain: 'example.org', x509Authorities: [Buffer.from('junk'), f.root.der], jwtAuthorities: [] } }),
  },
  {
    name: 'fail/two SAN extensions',
    code: 'WEFT_SVID_MALFORMED',
    message: 'extension 2.5.29.17 appears more than once',
    build: async () => ({ chain: chainOf(await leafWith({ extraExtensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://example.org/b' }])] }), f.inter) }),
  },

  // --- the leaf's SPIFFE ID ---
  { name: 'fail/no URI SAN', code: 'WEFT_SVID_NO_URI_SAN', message: 'has no URI SAN', build: async () => ({ chain: chainOf(await leafWith({ dnsNames: ['web'] }, null), f.inter) }) },
  { name: 'fail/no SAN extension at all', code: 'WEFT_SVID_NO_URI_SAN', build: async () => ({ chain: chainOf(await leafWith({}, null), f.inter) }) },
  {
    name: 'fail/two URI SANs',
    code: 'WEFT_SVID_MULTIPLE_URI_SANS',
    message: 'has 2 URI SANs',
    build: async () => ({ chain: chainOf(await leafWith({ uris: [ID, 'spiffe://example.org/other'] }), f.inter) }),
  },
  {
    name: 'fail/a second URI SAN that is not a SPIFFE ID',
    code: 'WEFT_SVID_MULTIPLE_URI_SANS',
    build: async () => ({ chain: chainOf(await leafWith({ uris: [ID, 'https://example.org/'] }), f.inter) }),
  },
  { name: 'fail/URI SAN with another scheme', code: 'WEFT_SVID_BAD_SPIFFE_ID', message: 'scheme is missing or invalid', build: async () => ({ chain: chainOf(await leafWith({}, 'https://example.org/web'), f.inter) }) },
  { name: 'fail/uppercase trust domain in the SAN', code: 'WEFT_SVID_BAD_SPIFFE_ID', message: 'trust domain must be lowercase', build: async () => ({ chain: chainOf(await leafWith({}, 'spiffe://Example.org/web'), f.inter) }) },
  { name: 'fail/SPIFFE ID with a query', code: 'WEFT_SVID_BAD_SPIFFE_ID', build: async () => ({ chain: chainOf(await leafWith({}, 'spiffe://example.org/web?x=1'), f.inter) }) },
  { name: 'fail/leaf with the root path', code: 'WEFT_SVID_ROOT_PATH', message: 'has the root path', build: async () => ({ chain: chainOf(await leafWith({}, 'spiffe://example.org'), f.inter) }) },

  // --- the leaf's extensions ---
  { name: 'fail/leaf is a CA', code: 'WEFT_SVID_LEAF_IS_CA', message: 'cA=true', build: async () => ({ chain: chainOf(await leafWith({ ca: true }), f.inter) }) },
  {
    name: 'fail/leaf with keyCertSign',
    code: 'WEFT_SVID_LEAF_KEY_CERT_SIGN',
    build: async () => ({ chain: chainOf(await leafWith({ keyUsage: ['digitalSignature', 'keyCertSign'] }), f.inter) }),
  },
  { name: 'fail/leaf with cRLSign', code: 'WEFT_SVID_LEAF_CRL_SIGN', build: async () => ({ chain: chainOf(await leafWith({ keyUsage: ['digitalSignature', 'cRLSign'] }), f.inter) }) },
  {
    name: 'fail/leaf without digitalSignature',
    code: 'WEFT_SVID_NO_DIGITAL_SIGNATURE',
    message: 'lacks keyUsage digitalSignature',
    build: async () => ({ chain: chainOf(await leafWith({ keyUsage: ['keyEncipherment', 'keyAgreement'] }), f.inter) }),
  },
  {
    name: 'fail/leaf without keyUsage',
    code: 'WEFT_SVID_NO_DIGITAL_SIGNATURE',
    message: 'has no keyUsage extension',
    build: async () => ({ chain: chainOf(await leafWith({ keyUsage: null }), f.inter) }),
  },
  { name: 'fail/EKU without clientAuth', code: 'WEFT_SVID_BAD_EKU', message: 'without clientAuth', build: async () => ({ chain: chainOf(await leafWith({ extKeyUsage: ['serverAuth'] }), f.inter) }) },
  { name: 'fail/EKU without serverAuth', code: 'WEFT_SVID_BAD_EKU', message: 'without serverAuth;', build: async () => ({ chain: chainOf(await leafWith({ extKeyUsage: ['clientAuth'] }), f.inter) }) },
  { name: 'fail/EKU of another purpose', code: 'WEFT_SVID_BAD_EKU', build: async () => ({ chain: chainOf(await leafWith({ extKeyUsage: ['codeSigning'] }), f.inter) }) },
  { name: 'fail/EKU anyExtendedKeyUsage alone', code: 'WEFT_SVID_BAD_EKU', build: async () => ({ chain: chainOf(await leafWith({ extKeyUsage: ['anyExtendedKeyUsage'] }), f.inter) }) },
  { name: 'fail/RSA 1024 leaf', code: 'WEFT_SVID_WEAK_KEY', message: '1024-bit RSA key', build: async () => ({ chain: chainOf(await leafWith({ keyType: 'RSA 1024' }), f.inter) }) },
  {
    name: 'fail/leaf with an unknown critical extension',
    code: 'WEFT_SVID_UNKNOWN_CRITICAL_EXTENSION',
    message: '1.3.6.1.4.1.99999.1',
    build: async () => ({ chain: chainOf(await leafWith({ extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0]))] }), f.inter) }),
  },
  {
    name: 'fail/intermediate with critical name constraints, which weft does not process',
    code: 'WEFT_SVID_UNKNOWN_CRITICAL_EXTENSION',
    message: /^intermediate certificate .* 2\.5\.29\.30/,
    build: async () => {
      // NameConstraints ::= SEQUENCE { permittedSubtrees [0] { SEQUENCE { uniformResourceIdentifier [6] "example.org" } } }
      const nc = Buffer.from('3011a00f300d860b6578616d706c652e6f7267', 'hex');
      const inter = await pki.intermediate(f.root, { extraExtensions: [new x509.Extension('2.5.29.30', true, nc)] });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },

  // --- trust ---
  { name: 'fail/no bundle for the leaf trust domain in a set', code: 'WEFT_SVID_NO_BUNDLE', message: 'belongs to trust domain example.org', build: async () => ({ chain: chainOf(f.leaf, f.inter), bundles: new TrustBundleSet([f.otherBundle]) }) },
  { name: 'fail/a single bundle of another trust domain', code: 'WEFT_SVID_NO_BUNDLE', message: 'for which there is no trust bundle', build: async () => ({ chain: chainOf(f.leaf, f.inter), bundles: f.otherBundle }) },
  {
    name: 'fail/leaf of A signed by the root of B is not trusted even when B is in the set',
    code: 'WEFT_SVID_UNTRUSTED',
    message: 'neither a root of the example.org trust bundle',
    build: async () => ({ chain: chainOf(await pki.leaf(f.otherRoot, ID)), bundles: f.both }),
  },
  {
    name: 'fail/leaf of B signed by the root of A is not trusted even when A is in the set',
    code: 'WEFT_SVID_UNTRUSTED',
    message: 'neither a root of the other.org trust bundle',
    build: async () => ({ chain: chainOf(await pki.leaf(f.root, 'spiffe://other.org/web')), bundles: f.both }),
  },
  { name: 'fail/the intermediate is missing', code: 'WEFT_SVID_UNTRUSTED', message: /^leaf certificate .* was issued by "CN=intermediate/, build: async () => ({ chain: chainOf(f.leaf) }) },
  {
    name: 'fail/a root with the same name but another key',
    code: 'WEFT_SVID_UNTRUSTED',
    message: 'signature that does not verify',
    build: async () => {
      const twin = await pki.root('example.org', { subject: f.root.subject });
      return { chain: chainOf(await pki.leaf(twin, ID)) };
    },
  },
  { name: 'fail/a self-signed leaf', code: 'WEFT_SVID_UNTRUSTED', build: async () => ({ chain: chainOf(await pki.leaf('self', ID)) }) },
  {
    name: 'fail/a bundle with no X.509 authorities (all revoked)',
    code: 'WEFT_SVID_UNTRUSTED',
    message: 'has no X.509 authorities',
    build: async () => ({ chain: chainOf(f.leaf, f.inter), bundles: createTrustBundle({ trustDomain: 'example.org' }) }),
  },
  {
    name: 'fail/more than eight certificates sent',
    code: 'WEFT_SVID_CHAIN_TOO_LONG',
    message: 'came with 9 certificates',
    build: async () => ({ chain: chainOf(f.leaf, ...Array<TestCert>(8).fill(f.inter)) }),
  },
  {
    name: 'fail/seven intermediates make a nine-certificate path',
    code: 'WEFT_SVID_CHAIN_TOO_LONG',
    message: 'within 8 certificates',
    build: async () => {
      const inters = await ladder(7);
      return { chain: chainOf(await pki.leaf(inters.at(-1)!, ID), ...inters.reverse()) };
    },
  },

  // --- signing certificates ---
  {
    name: 'fail/intermediate with cA=false',
    code: 'WEFT_SVID_SIGNER_NOT_CA',
    message: /^intermediate certificate .* \(basicConstraints cA is false\)$/,
    build: async () => {
      const inter = await pki.intermediate(f.root, { ca: false });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'fail/intermediate without basicConstraints',
    code: 'WEFT_SVID_SIGNER_NOT_CA',
    message: 'cA is absent',
    build: async () => {
      const inter = await pki.intermediate(f.root, { ca: null });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'fail/a leaf used as an issuer',
    code: 'WEFT_SVID_SIGNER_NOT_CA',
    build: async () => ({ chain: chainOf(await pki.leaf(f.leaf, 'spiffe://example.org/grandchild'), f.leaf, f.inter) }),
  },
  {
    name: 'fail/intermediate without keyCertSign',
    code: 'WEFT_SVID_SIGNER_NO_KEY_CERT_SIGN',
    message: 'lacks keyCertSign',
    build: async () => {
      const inter = await pki.intermediate(f.root, { keyUsage: ['cRLSign', 'digitalSignature'] });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'fail/root without keyUsage',
    code: 'WEFT_SVID_SIGNER_NO_KEY_CERT_SIGN',
    message: /^root certificate .* keyUsage is absent/,
    build: async () => {
      const root = await pki.root('example.org', { keyUsage: null });
      return { chain: chainOf(await pki.leaf(root, ID)), bundles: bundleFromPem('example.org', root.pem) };
    },
  },
  {
    name: 'fail/intermediate whose SPIFFE ID has a path',
    code: 'WEFT_SVID_SIGNER_SPIFFE_ID',
    message: 'carries the SPIFFE ID spiffe://example.org/ca, which has a path',
    build: async () => {
      const inter = await pki.intermediate(f.root, { uris: ['spiffe://example.org/ca'] });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'fail/root whose SPIFFE ID is invalid',
    code: 'WEFT_SVID_SIGNER_SPIFFE_ID',
    message: 'carries an invalid SPIFFE ID',
    build: async () => {
      const root = await pki.root('example.org', { uris: ['spiffe://Example.org'] });
      return { chain: chainOf(await pki.leaf(root, ID)), bundles: bundleFromPem('example.org', root.pem) };
    },
  },
  {
    name: 'fail/root pathLenConstraint 0 above an intermediate',
    code: 'WEFT_SVID_PATH_LEN',
    message: /^root certificate .* allows 0 intermediate CAs below it \(pathLenConstraint\) but the path has 1/,
    build: async () => {
      const root = await pki.root('example.org', { pathLength: 0 });
      const inter = await pki.intermediate(root);
      return { chain: chainOf(await pki.leaf(inter, ID), inter), bundles: bundleFromPem('example.org', root.pem) };
    },
  },
  {
    name: 'fail/intermediate pathLenConstraint 0 above another intermediate',
    code: 'WEFT_SVID_PATH_LEN',
    build: async () => {
      const i1 = await pki.intermediate(f.root, { pathLength: 0 });
      const i2 = await pki.intermediate(i1);
      return { chain: chainOf(await pki.leaf(i2, ID), i2, i1) };
    },
  },

  // --- time ---
  { name: 'fail/leaf expired', code: 'WEFT_SVID_EXPIRED', message: `expired at ${new Date(T0 + DAY).toISOString()}`, build: async () => ({ chain: chainOf(f.leaf, f.inter), at: T0 + DAY + 1 }) },
  { name: 'fail/leaf not yet valid', code: 'WEFT_SVID_NOT_YET_VALID', message: 'is not valid until', build: async () => ({ chain: chainOf(f.leaf, f.inter), at: T0 - HOUR - 1 }) },
  {
    name: 'fail/intermediate expired while the leaf is not',
    code: 'WEFT_SVID_EXPIRED',
    message: /^intermediate certificate/,
    build: async () => {
      const inter = await pki.intermediate(f.root, { notAfter: new Date(T0 - 1000) });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'fail/intermediate not yet valid',
    code: 'WEFT_SVID_NOT_YET_VALID',
    message: /^intermediate certificate/,
    build: async () => {
      const inter = await pki.intermediate(f.root, { notBefore: new Date(T0 + 1000) });
      return { chain: chainOf(await pki.leaf(inter, ID), inter) };
    },
  },
  {
    name: 'fail/root expired',
    code: 'WEFT_SVID_EXPIRED',
    message: /^root certificate/,
    build: async () => {
      const root = await pki.root('example.org', { notAfter: new Date(T0 - 1000) });
      return { chain: chainOf(await pki.leaf(root, ID)), bundles: bundleFromPem('example.org', root.pem) };
    },
  },
];

/** root -> i1 -> ... -> in, returned top down. */
async function ladder(n: number): Promise<TestCert[]> {
  const out: TestCert[] = [];
  for (let i = 0; i < n; i++) out.push(await pki.intermediate(out.at(-1) ?? f.root));
  return out;
}

describe('verifyX509Svid', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const { chain, bundles, at } = await c.build();
      const opts = { clock: new FrozenClock(at ?? T0) };
      if (c.code === undefined) {
        const info = verifyX509Svid(chain, bundles ?? f.bundle, opts);
        assert.equal(info.spiffeId.trustDomain, new URL(info.spiffeId.text).host);
        assert.equal(checkX509Svid(chain, bundles ?? f.bundle, opts).ok, true);
        return;
      }
      let thrown: unknown;
      try {
        verifyX509Svid(chain, bundles ?? f.bundle, opts);
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown instanceof SvidError, `expected an SvidError, got ${String(thrown)}`);
      assert.equal(thrown.code, c.code, thrown.message);
      if (typeof c.message === 'string') assert.ok(thrown.message.includes(c.message), thrown.message);
      else if (c.message) assert.match(thrown.message, c.message);
      assert.match(thrown.message, /^[a-z]/);
      assert.doesNotMatch(thrown.message, /\.$/);
      const r = checkX509Svid(chain, bundles ?? f.bundle, opts);
      assert.equal(r.ok, false);
      assert.equal(r.ok ? undefined : r.problems[0]!.code, c.code);
    });
  }

  test('every SVID error code has a failing case', () => {
    const covered = new Set(CASES.map((c) => c.code));
    const missing = IDENTITY_ERROR_CODES.filter((code) => code.startsWith('WEFT_SVID_') && !covered.has(code as SvidErrorCode));
    assert.deepEqual(missing, []);
  });
});

describe('checkX509Svid', () => {
  test('collects every problem of a thoroughly bad certificate, leaf rules first', async () => {
    const bad = await pki.leaf(f.otherRoot, 'spiffe://example.org', {
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: ['codeSigning'],
      notAfter: new Date(T0 - 1000),
    });
    const r = checkX509Svid([bad.der], f.both, { clock });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.problems.map((p) => p.code), [
      'WEFT_SVID_ROOT_PATH',
      'WEFT_SVID_LEAF_IS_CA',
      'WEFT_SVID_LEAF_KEY_CERT_SIGN',
      'WEFT_SVID_LEAF_CRL_SIGN',
      'WEFT_SVID_NO_DIGITAL_SIGNATURE',
      'WEFT_SVID_BAD_EKU',
      'WEFT_SVID_EXPIRED',
      'WEFT_SVID_UNTRUSTED',
    ]);
    assert.equal(r.info?.spiffeId?.text, 'spiffe://example.org');
    assert.equal(r.info?.serial, bad.cert.serialNumber.toLowerCase().replace(/^(00)+/, ''));
  });

  test('reports the chain problems too when the leaf has no SPIFFE ID and one bundle is given', async () => {
    const inter = await pki.intermediate(f.root, { ca: false });
    const r = checkX509Svid(chainOf(await pki.leaf(inter, null), inter), f.bundle, { clock });
    assert.deepEqual(r.ok ? [] : r.problems.map((p) => p.code), ['WEFT_SVID_NO_URI_SAN', 'WEFT_SVID_SIGNER_NOT_CA']);
    assert.equal(r.info?.spiffeId, undefined);
    assert.equal(r.info?.keyType, 'EC P-256');
  });

  test('an invalid SPIFFE ID is reported once, not also as a root path', async () => {
    const r = checkX509Svid(chainOf(await pki.leaf(f.inter, 'spiffe://Example.org'), f.inter), f.bundle, { clock });
    assert.deepEqual(r.ok ? [] : r.problems.map((p) => p.code), ['WEFT_SVID_BAD_SPIFFE_ID']);
  });

  test('names the certificate each problem is about', async () => {
    const inter = await pki.intermediate(f.root, { notAfter: new Date(T0 - 1000) });
    const leaf = await pki.leaf(inter, ID);
    const r = checkX509Svid(chainOf(leaf, inter), f.bundle, { clock });
    assert.equal(r.ok, false);
    const p = r.ok ? undefined : r.problems[0];
    assert.deepEqual(p?.certificate, { role: 'intermediate', index: 1, subject: inter.subject, serial: inter.cert.serialNumber.replace(/^(00)+/, '') });
  });

  test('prefers a path that validates when intermediates chain two ways', async () => {
    // Two intermediates with the same name and key: one not a CA, one fine. Either signs the leaf.
    const keys = (await pki.intermediate(f.root)).keys;
    const subject = 'CN=twin intermediate';
    const badTwin = await pki.intermediate(f.root, { subject, keys, ca: false });
    const goodTwin = await pki.intermediate(f.root, { subject, keys });
    const leaf = await pki.leaf(goodTwin, ID);
    assert.equal(verifyX509Svid(chainOf(leaf, badTwin, goodTwin), f.bundle, { clock }).spiffeId.text, ID);
    assert.throws(() => verifyX509Svid(chainOf(leaf, badTwin), f.bundle, { clock }), { code: 'WEFT_SVID_SIGNER_NOT_CA' });
  });

  test('refuses a chain that is not an array', () => {
    assert.throws(() => checkX509Svid(f.leaf.der as unknown as Uint8Array[], f.bundle), TypeError);
  });
});
