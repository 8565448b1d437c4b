// Cross-checks verifyX509Svid against `openssl verify -x509_strict` on the same files: where the
// question is plain RFC 5280 both must agree; where it is a SPIFFE rule openssl does not know,
// openssl must accept the chain (so weft's refusal is for that rule and not a broken test PKI).
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { x509 } from '../lib/x509.js';
import { runCommand, tempDir } from '../../test/helpers/cli.js';
import { TestPki, writePkiFiles, type TestCert } from '../../test/helpers/pki.js';
import type { SvidErrorCode } from './errors.js';
import { bundleFromPem } from './trust-bundle.js';
import { checkX509Svid } from './x509-svid.js';

const OPENSSL = '/usr/bin/openssl';
const T0 = Date.UTC(2026, 0, 1);
const pki = new TestPki({ now: T0 });
const ID = 'spiffe://example.org/ns/default/sa/web';
const tmp = tempDir('weft-openssl-');
let root: TestCert;
let inter: TestCert;

before(async () => {
  assert.ok(existsSync(OPENSSL), `these tests need openssl at ${OPENSSL}; install it (apt-get install openssl) rather than skipping them`);
  root = await pki.root('example.org');
  inter = await pki.intermediate(root);
});
after(() => tmp.cleanup());

interface Case {
  name: string;
  build: () => Promise<{ leaf: TestCert; intermediates?: TestCert[]; roots?: TestCert[]; at?: number }>;
  /** What openssl says: true = OK. */
  openssl: boolean;
  /** What weft says: 'ok' or the first code. */
  weft: SvidErrorCode | 'ok';
}

const CASES: Case[] = [
  { name: 'ok/leaf through an intermediate', openssl: true, weft: 'ok', build: async () => ({ leaf: await pki.leaf(inter, ID), intermediates: [inter] }) },
  { name: 'ok/RSA 2048 leaf straight under the root', openssl: true, weft: 'ok', build: async () => ({ leaf: await pki.leaf(root, ID, { keyType: 'RSA 2048' }) }) },
  {
    name: 'ok/two roots in the bundle, leaf of the new one',
    openssl: true,
    weft: 'ok',
    build: async () => {
      const next = await pki.root('example.org', { subject: 'CN=example.org root 2' });
      return { leaf: await pki.leaf(next, ID), roots: [root, next] };
    },
  },
  { name: 'fail/expired leaf', openssl: false, weft: 'WEFT_SVID_EXPIRED', build: async () => ({ leaf: await pki.leaf(inter, ID), intermediates: [inter], at: T0 + 2 * 86_400_000 }) },
  { name: 'fail/leaf not yet valid', openssl: false, weft: 'WEFT_SVID_NOT_YET_VALID', build: async () => ({ leaf: await pki.leaf(inter, ID), intermediates: [inter], at: T0 - 2 * 3_600_000 }) },
  { name: 'fail/signed by a root not in the bundle', openssl: false, weft: 'WEFT_SVID_UNTRUSTED', build: async () => ({ leaf: await pki.leaf(await pki.root('other.org'), ID) }) },
  { name: 'fail/intermediate missing', openssl: false, weft: 'WEFT_SVID_UNTRUSTED', build: async () => ({ leaf: await pki.leaf(inter, ID) }) },
  {
    name: 'fail/same-name root with another key',
    openssl: false,
    weft: 'WEFT_SVID_UNTRUSTED',
    build: async () => ({ leaf: await pki.leaf(await pki.root('example.org', { subject: root.subject }), ID) }),
  },
  {
    name: 'fail/intermediate that is not a CA',
    openssl: false,
    weft: 'WEFT_SVID_SIGNER_NOT_CA',
    build: async () => {
      const i = await pki.intermediate(root, { ca: false });
      return { leaf: await pki.leaf(i, ID), intermediates: [i] };
    },
  },
  {
    name: 'fail/intermediate without keyCertSign',
    openssl: false,
    weft: 'WEFT_SVID_SIGNER_NO_KEY_CERT_SIGN',
    build: async () => {
      const i = await pki.intermediate(root, { keyUsage: ['cRLSign'] });
      return { leaf: await pki.leaf(i, ID), intermediates: [i] };
    },
  },
  {
    name: 'fail/path length constraint exceeded',
    openssl: false,
    weft: 'WEFT_SVID_PATH_LEN',
    build: async () => {
      const i1 = await pki.intermediate(root, { pathLength: 0 });
      const i2 = await pki.intermediate(i1);
      return { leaf: await pki.leaf(i2, ID), intermediates: [i2, i1] };
    },
  },
  {
    name: 'fail/unknown critical extension on the leaf',
    openssl: false,
    weft: 'WEFT_SVID_UNKNOWN_CRITICAL_EXTENSION',
    build: async () => ({ leaf: await pki.leaf(inter, ID, { extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0]))] }), intermediates: [inter] }),
  },
  // SPIFFE rules on top of RFC 5280: openssl accepts, weft refuses.
  { name: 'spiffe/leaf that is a CA', openssl: true, weft: 'WEFT_SVID_LEAF_IS_CA', build: async () => ({ leaf: await pki.leaf(inter, ID, { ca: true }), intermediates: [inter] }) },
  { name: 'spiffe/two URI SANs', openssl: true, weft: 'WEFT_SVID_MULTIPLE_URI_SANS', build: async () => ({ leaf: await pki.leaf(inter, ID, { uris: [ID, `${ID}2`] }), intermediates: [inter] }) },
  { name: 'spiffe/root path', openssl: true, weft: 'WEFT_SVID_ROOT_PATH', build: async () => ({ leaf: await pki.leaf(inter, 'spiffe://example.org'), intermediates: [inter] }) },
  { name: 'spiffe/no digitalSignature', openssl: true, weft: 'WEFT_SVID_NO_DIGITAL_SIGNATURE', build: async () => ({ leaf: await pki.leaf(inter, ID, { keyUsage: ['keyAgreement'] }), intermediates: [inter] }) },
];

describe('verifyX509Svid agrees with openssl verify -x509_strict', () => {
  CASES.forEach((c, n) => {
    test(c.name, async () => {
      const { leaf, intermediates = [], roots = [root], at = T0 } = await c.build();
      const files = writePkiFiles(tmp.dir, { leaf, intermediates, roots, name: `case${n}` });
      const args = ['verify', '-x509_strict', '-attime', String(Math.floor(at / 1000)), '-CAfile', files.bundlePath];
      if (files.chainPath) args.push('-untrusted', files.chainPath);
      const ossl = await runCommand(OPENSSL, [...args, files.certPath]);
      assert.equal(ossl.code === 0, c.openssl, `openssl: ${ossl.stdout}${ossl.stderr}`);
      const r = checkX509Svid([leaf.der, ...intermediates.map((i) => i.der)], bundleFromPem('example.org', roots.map((r) => r.pem).join('')), { clock: new FrozenClock(at) });
      assert.equal(r.ok ? 'ok' : r.problems[0]!.code, c.weft);
    });
  });

  test('writePkiFiles writes a key openssl reads, matching the certificate, with mode 0600', async () => {
    const leaf = await pki.leaf(inter, ID, { keyType: 'RSA 2048' });
    const files = writePkiFiles(tmp.dir, { leaf, intermediates: [inter], roots: [root], name: 'keycheck' });
    assert.equal(statSync(files.keyPath).mode & 0o777, 0o600);
    const fromKey = await runCommand(OPENSSL, ['pkey', '-in', files.keyPath, '-pubout']);
    const fromCert = await runCommand(OPENSSL, ['x509', '-in', files.certPath, '-noout', '-pubkey']);
    assert.equal(fromKey.code, 0, fromKey.stderr);
    assert.equal(fromKey.stdout, fromCert.stdout);
  });
});
