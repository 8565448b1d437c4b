import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshSnapshot } from '../../api/control-plane-api.js';
import { FrozenClock } from '../../lib/clock.js';
import { SnapshotPublisher, type BuiltSnapshot, type SubscribedWorkload } from './publisher.js';

/** The two calls the publisher makes on a gRPC stream, recorded. */
function fakeStream() {
  const sent: MeshSnapshot[] = [];
  return { sent, stream: { write: (m: MeshSnapshot) => sent.push(m), end: () => undefined } as never };
}

const workload = (id: string): SubscribedWorkload => ({ workloadId: id, spiffeId: `spiffe://td/ns/a/sa/${id}`, namespace: 'a', labels: {} });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(content: { sig: string }) {
  const build = (): BuiltSnapshot => ({ signature: content.sig, servicesVersion: 1, content: { trustDomain: 'td', trustBundle: [], services: [], resources: [content.sig] } });
  return new SnapshotPublisher({ build, clock: new FrozenClock(0), debounceMs: 5 });
}

test('sends the first snapshot at once and nothing more until the content changes', async () => {
  const content = { sig: 'one' };
  const pub = setup(content);
  const { sent, stream } = fakeStream();
  pub.add(stream, workload('w1'));
  assert.equal(sent.length, 1);
  pub.answer(stream, { workloadId: 'w1', version: sent[0]!.version, nonce: sent[0]!.nonce, error: '' });
  pub.changed();
  await tick(20);
  assert.equal(sent.length, 1, 'an unchanged snapshot is not sent again');
  content.sig = 'two';
  pub.changed();
  await tick(20);
  assert.equal(sent.length, 2);
  assert.ok(sent[1]!.version > sent[0]!.version);
  pub.close();
});

test('holds changes while a snapshot is unanswered and sends the latest after the answer', async () => {
  const content = { sig: 'one' };
  const pub = setup(content);
  const { sent, stream } = fakeStream();
  pub.add(stream, workload('w1'));
  content.sig = 'two';
  pub.changed();
  await tick(20);
  content.sig = 'three';
  pub.changed();
  await tick(20);
  assert.equal(sent.length, 1, 'at most one unacknowledged push');
  pub.answer(stream, { workloadId: 'w1', version: 999, nonce: 'not-the-nonce', error: '' });
  assert.equal(sent.length, 1, 'an answer with a stale nonce does not count');
  pub.answer(stream, { workloadId: 'w1', version: sent[0]!.version, nonce: sent[0]!.nonce, error: '' });
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1]!.resources, ['three']);
  pub.close();
});

test('status shows ACK, NACK with its reason, and pending', async () => {
  const content = { sig: 'one' };
  const pub = setup(content);
  const a = fakeStream();
  const b = fakeStream();
  pub.add(a.stream, workload('w1'));
  pub.add(b.stream, workload('w2'));
  pub.answer(a.stream, { workloadId: 'w1', version: a.sent[0]!.version, nonce: a.sent[0]!.nonce, error: '' });
  pub.answer(b.stream, { workloadId: 'w2', version: b.sent[0]!.version, nonce: b.sent[0]!.nonce, error: 'bad policy' });
  let [s1, s2] = pub.status();
  assert.equal(s1!.state, 'ACK');
  assert.equal(s1!.ackedVersion, a.sent[0]!.version);
  assert.equal(s2!.state, 'NACK');
  assert.equal(s2!.nackReason, 'bad policy');
  assert.equal(s2!.ackedVersion, 0);
  content.sig = 'two';
  pub.changed();
  await tick(20);
  [s1, s2] = pub.status();
  assert.equal(s1!.state, 'PENDING');
  assert.equal(s2!.state, 'PENDING');
  pub.answer(b.stream, { workloadId: 'w2', version: b.sent[1]!.version, nonce: b.sent[1]!.nonce, error: '' });
  assert.equal(pub.status()[1]!.state, 'ACK');
  assert.equal(pub.status()[1]!.nackReason, undefined);
  pub.remove(a.stream);
  assert.equal(pub.status().length, 1);
  pub.close();
});

test('services are left out when the sidecar ACKed the same services on this stream, and sent when they change', async () => {
  let servicesVersion = 1;
  let sig = 'a';
  const pub = new SnapshotPublisher({
    build: () => ({
      signature: `${servicesVersion}|${sig}`,
      servicesVersion,
      content: { trustDomain: 'td', trustBundle: [], services: [{ name: 's', namespace: 'a', ports: [], endpoints: [], identities: [] }], resources: [sig] },
    }),
    clock: new FrozenClock(0),
    debounceMs: 5,
  });
  const { sent, stream } = fakeStream();
  const ack = (s: typeof stream, list: MeshSnapshot[], error = '') => pub.answer(s, { workloadId: 'w1', version: list.at(-1)!.version, nonce: list.at(-1)!.nonce, error });
  pub.add(stream, workload('w1'));
  assert.equal(sent[0]!.servicesOmitted, false);
  ack(stream, sent, 'refused');
  sig = 'b';
  pub.changed();
  await tick(20);
  assert.equal(sent[1]!.servicesOmitted, false, 'a NACKed snapshot is no base: the sidecar may not hold those services');
  ack(stream, sent);
  sig = 'c';
  pub.changed();
  await tick(20);
  assert.equal(sent[2]!.servicesOmitted, true);
  assert.deepEqual(sent[2]!.services, []);
  ack(stream, sent);
  servicesVersion = 2;
  pub.changed();
  await tick(20);
  assert.equal(sent[3]!.servicesOmitted, false, 'changed services are sent');
  assert.equal(sent[3]!.services.length, 1);
  const second = fakeStream();
  pub.add(second.stream, workload('w1'));
  assert.equal(second.sent[0]!.servicesOmitted, false, 'a new stream starts from a full snapshot');
  pub.close();
});
