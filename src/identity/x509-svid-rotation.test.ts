// X.509-SVID validation over time and across root rotation (X509-SVID.md §5; SPIFFE Trust Domain
// and Bundle §4: keys are rotated by publishing a bundle holding the old and the new root).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { TestPki, type TestCert } from '../../test/helpers/pki.js';
import type { SvidErrorCode } from './errors.js';
import { bundleFromPem, type TrustBundle } from './trust-bundle.js';
import { verifyX509Svid } from './x509-svid.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const pki = new TestPki({ now: T0 });
const clock = new FrozenClock(T0);
const ID = 'spiffe://example.org/ns/default/sa/web';
const chainOf = (...certs: TestCert[]): Buffer[] => certs.map((c) => c.der);

let f: { root: TestCert; inter: TestCert; leaf: TestCert; bundle: TrustBundle };

before(async () => {
  const root = await pki.root('example.org');
  const inter = await pki.intermediate(root);
  f = { root, inter, leaf: await pki.leaf(inter, ID), bundle: bundleFromPem('example.org', root.pem) };
});

describe('root rotation', () => {
  test('a bundle with the old and the new root accepts leaves of both; each root alone accepts only its own', async () => {
    const oldRoot = f.root;
    const newRoot = await pki.root('example.org', { subject: 'CN=example.org root 2, O=weft test' });
    const oldLeaf = f.leaf;
    const newLeaf = await pki.leaf(newRoot, ID);
    const rotating = bundleFromPem('example.org', oldRoot.pem + newRoot.pem);
    assert.equal(rotating.x509Authorities.length, 2);
    assert.equal(verifyX509Svid(chainOf(oldLeaf, f.inter), rotating, { clock }).spiffeId.text, ID);
    assert.equal(verifyX509Svid(chainOf(newLeaf), rotating, { clock }).spiffeId.text, ID);
    assert.throws(() => verifyX509Svid(chainOf(newLeaf), bundleFromPem('example.org', oldRoot.pem), { clock }), { code: 'WEFT_SVID_UNTRUSTED' });
    assert.throws(() => verifyX509Svid(chainOf(oldLeaf, f.inter), bundleFromPem('example.org', newRoot.pem), { clock }), { code: 'WEFT_SVID_UNTRUSTED' });
  });

  test('a cross-signed new root lets old-bundle holders verify new leaves', async () => {
    const newRoot = await pki.root('example.org', { subject: 'CN=example.org root 3, O=weft test' });
    const cross = await pki.intermediate(f.root, { subject: newRoot.subject, keys: newRoot.keys });
    const newLeaf = await pki.leaf(newRoot, ID);
    assert.equal(verifyX509Svid(chainOf(newLeaf, cross), f.bundle, { clock }).spiffeId.text, ID);
    assert.equal(verifyX509Svid(chainOf(newLeaf, cross), bundleFromPem('example.org', newRoot.pem), { clock }).spiffeId.text, ID);
  });
});

describe('validity edges (FrozenClock)', () => {
  const edges: { name: string; offset: (l: TestCert) => number; code?: SvidErrorCode }[] = [
    { name: 'ok/1 ms after notBefore', offset: (l) => l.cert.notBefore.getTime() + 1 },
    { name: 'fail/1 ms before notBefore', offset: (l) => l.cert.notBefore.getTime() - 1, code: 'WEFT_SVID_NOT_YET_VALID' },
    { name: 'ok/1 ms before notAfter', offset: (l) => l.cert.notAfter.getTime() - 1 },
    { name: 'fail/1 ms after notAfter', offset: (l) => l.cert.notAfter.getTime() + 1, code: 'WEFT_SVID_EXPIRED' },
  ];
  for (const e of edges) {
    test(e.name, () => {
      const c = new FrozenClock(e.offset(f.leaf));
      if (e.code === undefined) assert.equal(verifyX509Svid(chainOf(f.leaf, f.inter), f.bundle, { clock: c }).spiffeId.text, ID);
      else assert.throws(() => verifyX509Svid(chainOf(f.leaf, f.inter), f.bundle, { clock: c }), { code: e.code });
    });
  }

  test('the clock, not the wall time, decides', () => {
    const c = new FrozenClock(T0);
    verifyX509Svid(chainOf(f.leaf, f.inter), f.bundle, { clock: c });
    c.advance(2 * DAY);
    assert.throws(() => verifyX509Svid(chainOf(f.leaf, f.inter), f.bundle, { clock: c }), { code: 'WEFT_SVID_EXPIRED' });
  });
});
