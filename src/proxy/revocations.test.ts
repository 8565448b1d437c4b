import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';
import type { DetailedPeerCertificate } from 'node:tls';
import { before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { TestPki, pemOf, type TestCert } from '../../test/helpers/pki.js';
import { ProxyError } from './errors.js';
import { PeerVerifier } from './peer-identity.js';
import { REVOKED_REASON, Revocations } from './revocations.js';
import { ProxyStats } from './stats.js';

const TD = 'cluster.local';

function detailed(...certs: TestCert[]): DetailedPeerCertificate {
  const nodes = certs.map((c) => ({ raw: c.der }) as unknown as DetailedPeerCertificate);
  nodes.forEach((n, i) => (n.issuerCertificate = nodes[i + 1] ?? n));
  return nodes[0]!;
}

/** Just what Revocations uses of a session: goaway, destroy and the close event. */
class FakeSession extends EventEmitter {
  destroyed = false;
  goaways = 0;
  goaway(): void {
    this.goaways++;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function setup() {
  const stats = new ProxyStats();
  const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
  const revocations = new Revocations({ stats, logger: { log: (level, event, fields) => lines.push({ level, event, fields }) } });
  return { stats, lines, revocations };
}

describe('revocation in the data path', () => {
  const pki = new TestPki();
  const clock = new FrozenClock(pki.now.getTime());
  let root: TestCert;
  let inter: TestCert;
  let own: TestCert;

  before(async () => {
    root = await pki.root(TD);
    inter = await pki.intermediate(root);
    own = await pki.leaf(inter, `spiffe://${TD}/ns/a/sa/self`);
  });
  const identity = () => ({ spiffeId: `spiffe://${TD}/ns/a/sa/self`, trustDomain: TD, keyPem: own.keyPem, certChainPem: pemOf(own, inter), bundlePem: root.pem });

  test('fail/the verifier refuses a revoked serial with the reason "certificate revoked"; others pass', async () => {
    const { revocations } = setup();
    const verifier = new PeerVerifier(identity(), clock, revocations);
    const bad = await pki.leaf(inter, `spiffe://${TD}/ns/a/sa/bad`);
    const good = await pki.leaf(inter, `spiffe://${TD}/ns/a/sa/good`);
    const badSerial = verifier.verifyChain(detailed(bad, inter, root)).serial;
    // The snapshot's list may be in any case: serials compare as lowercase hex.
    revocations.update([badSerial.toUpperCase()]);
    assert.throws(
      () => verifier.verifyChain(detailed(bad, inter, root)),
      (err: unknown) => err instanceof ProxyError && err.code === 'WEFT_PROXY_PEER_REFUSED' && err.fields.stage === 'revoked' && err.message.includes(REVOKED_REASON) && err.fields.serial === badSerial,
    );
    assert.equal(verifier.verifyChain(detailed(good, inter, root)).spiffeId, `spiffe://${TD}/ns/a/sa/good`);
    revocations.update([]);
    verifier.verifyChain(detailed(bad, inter, root));
  });

  test('ok/a new revocation closes exactly the open sessions with that peer, both sides, counted and logged', () => {
    const { stats, lines, revocations } = setup();
    const sessions = { inA: new FakeSession(), outA: new FakeSession(), inB: new FakeSession() };
    revocations.track(sessions.inA as unknown as Http2Session, 'inbound', 'aa', 'spiffe://td/a');
    revocations.track(sessions.outA as unknown as Http2Session, 'outbound', 'aa', 'spiffe://td/a');
    revocations.track(sessions.inB as unknown as Http2Session, 'inbound', 'bb', 'spiffe://td/b');
    assert.equal(revocations.update(['aa']), 2);
    assert.deepEqual([sessions.inA.destroyed, sessions.outA.destroyed, sessions.inB.destroyed], [true, true, false]);
    assert.equal(sessions.inA.goaways, 1, 'GOAWAY first, so the peer learns it');
    assert.equal(stats.revoked_sessions_closed_total, 2);
    assert.deepEqual(lines.map((l) => [l.event, l.fields?.reason]), [['inbound.session.closed', REVOKED_REASON], ['outbound.session.closed', REVOKED_REASON]]);
    assert.equal(revocations.update(['aa']), 0, 'the same list again closes nothing');
  });

  test('ok/a closed session is forgotten, and an untracked serial is never matched', () => {
    const { revocations } = setup();
    const s = new FakeSession();
    revocations.track(s as unknown as Http2Session, 'inbound', 'cc', 'p');
    s.emit('close');
    revocations.track(new FakeSession() as unknown as Http2Session, 'inbound', '', 'p');
    assert.equal(revocations.update(['cc', '']), 0);
  });

  test('ok/its own certificate revoked: every outbound session closes, inbound ones stay, and it says so', () => {
    const { lines, revocations } = setup();
    revocations.setOwnSerial('EE');
    const out = new FakeSession();
    const inb = new FakeSession();
    revocations.track(out as unknown as Http2Session, 'outbound', 'dd', 'p');
    revocations.track(inb as unknown as Http2Session, 'inbound', 'dd', 'p');
    assert.equal(revocations.selfRevoked, false);
    revocations.update(['ee']);
    assert.equal(revocations.selfRevoked, true);
    assert.deepEqual([out.destroyed, inb.destroyed], [true, false]);
    assert.ok(lines.some((l) => l.event === 'svid.revoked' && l.level === 'error'));
    revocations.setOwnSerial('ff');
    assert.equal(revocations.selfRevoked, false, 'a new certificate is not revoked');
  });
});
