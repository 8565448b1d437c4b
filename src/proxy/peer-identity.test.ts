import assert from 'node:assert/strict';
import type { DetailedPeerCertificate } from 'node:tls';
import { before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { TestPki, pemOf, type TestCert } from '../../test/helpers/pki.js';
import { ProxyError } from './errors.js';
import { PeerVerifier } from './peer-identity.js';
import type { SidecarIdentity } from './types.js';

const TD = 'cluster.local';

/** The shape tls hands to checkServerIdentity: a leaf linked to its issuers, the root to itself. */
function detailed(...certs: TestCert[]): DetailedPeerCertificate {
  const nodes = certs.map((c) => ({ raw: c.der }) as unknown as DetailedPeerCertificate);
  nodes.forEach((n, i) => (n.issuerCertificate = nodes[i + 1] ?? n));
  return nodes[0]!;
}

describe('PeerVerifier', () => {
  const pki = new TestPki();
  const clock = new FrozenClock(pki.now.getTime());
  let root: TestCert;
  let inter: TestCert;
  let verifier: PeerVerifier;

  before(async () => {
    root = await pki.root(TD);
    inter = await pki.intermediate(root);
    const own = await pki.leaf(inter, `spiffe://${TD}/ns/a/sa/self`);
    const identity: SidecarIdentity = { spiffeId: `spiffe://${TD}/ns/a/sa/self`, trustDomain: TD, keyPem: own.keyPem, certChainPem: pemOf(own, inter), bundlePem: root.pem };
    verifier = new PeerVerifier(identity, clock);
  });

  test('ok/returns the SPIFFE ID and the SHA-256 of the leaf', async () => {
    const leaf = await pki.leaf(inter, `spiffe://${TD}/ns/a/sa/peer`);
    const id = verifier.verifyChain(detailed(leaf, inter, root));
    assert.equal(id.spiffeId, `spiffe://${TD}/ns/a/sa/peer`);
    assert.match(id.certHash, /^[0-9a-f]{64}$/);
  });

  const fails: { name: string; make: () => Promise<TestCert[]>; svidError: string }[] = [
    { name: 'fail/two URI SANs', make: async () => [await pki.leaf(inter, `spiffe://${TD}/a`, { uris: [`spiffe://${TD}/a`, `spiffe://${TD}/b`] }), inter, root], svidError: 'WEFT_SVID_MULTIPLE_URI_SANS' },
    { name: 'fail/another trust domain', make: async () => [await pki.leaf(inter, 'spiffe://other.org/a'), inter, root], svidError: 'WEFT_SVID_NO_BUNDLE' },
    { name: 'fail/a CA as leaf', make: async () => [await pki.intermediate(inter, { uris: [`spiffe://${TD}/a`] }), inter, root], svidError: 'WEFT_SVID_LEAF_IS_CA' },
    { name: 'fail/missing intermediate', make: async () => [await pki.leaf(inter, `spiffe://${TD}/a`)], svidError: 'WEFT_SVID_UNTRUSTED' },
  ];
  for (const c of fails) {
    test(c.name, async () => {
      const chain = await c.make();
      assert.throws(
        () => verifier.verifyChain(detailed(...chain)),
        (err: unknown) => err instanceof ProxyError && err.code === 'WEFT_PROXY_PEER_REFUSED' && err.fields.stage === 'svid' && err.fields.svidError === c.svidError,
      );
    });
  }

  test('fail/a certificate that expired by the injected clock', async () => {
    const leaf = await pki.leaf(inter, `spiffe://${TD}/ns/a/sa/peer`);
    const late = new PeerVerifier(
      { spiffeId: `spiffe://${TD}/ns/a/sa/self`, trustDomain: TD, keyPem: leaf.keyPem, certChainPem: leaf.pem, bundlePem: root.pem },
      new FrozenClock(pki.now.getTime() + 2 * 24 * 3_600_000),
    );
    assert.throws(() => late.verifyChain(detailed(leaf, inter, root)), (err: unknown) => err instanceof ProxyError && err.fields.svidError === 'WEFT_SVID_EXPIRED');
  });
});
