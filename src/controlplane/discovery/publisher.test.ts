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

test('a snapshot over the size limit fails for its workload alone, loudly, and is tried again when its content changes', async () => {
  const sizes = new Map<string, number>([['small', 100], ['big', 100]]);
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  const build = (w: SubscribedWorkload): BuiltSnapshot => ({
    signature: `${w.workloadId}:${sizes.get(w.workloadId)}`,
    servicesVersion: 1,
    content: { trustDomain: 'td', trustBundle: [], services: [], resources: [] },
    bytes: { shared: 1_000, own: sizes.get(w.workloadId)! },
  });
  const pub = new SnapshotPublisher({ build, clock: new FrozenClock(0), debounceMs: 5, maxSnapshotBytes: 10_000, log: (event, fields) => logs.push({ event, fields }) });
  const small = fakeStream();
  const big = fakeStream();
  pub.add(small.stream, workload('small'));
  pub.add(big.stream, workload('big'));
  for (const s of [small, big]) pub.answer(s.stream, { workloadId: '', version: s.sent[0]!.version, nonce: s.sent[0]!.nonce, error: '' });
  // One workload's resources grow past the limit; the other's snapshot changes too.
  sizes.set('big', 20_000);
  sizes.set('small', 200);
  pub.changed();
  await tick(20);
  assert.equal(big.sent.length, 1, 'the oversized snapshot is not sent');
  assert.equal(small.sent.length, 2, 'every other workload still gets its own');
  const status = new Map(pub.status().map((s) => [s.workloadId, s]));
  assert.equal(status.get('big')!.state, 'FAILED');
  assert.match(status.get('big')!.failure!, /^snapshot of 20000 bytes \(services 0, resources 20000\) exceeds the 10000-byte limit a sidecar accepts.*\(WEFT_SNAPSHOT_TOO_LARGE\)$/);
  assert.equal(status.get('big')!.ackedVersion, big.sent[0]!.version, 'it keeps what it holds');
  assert.equal(status.get('small')!.failure, undefined);
  assert.deepEqual(logs.map((l) => [l.event, l.fields.workloadId, l.fields.bytes]), [['snapshot.too_large', 'big', 20_000]]);
  // Unchanged content is not tried (nor logged) again; changed content is.
  pub.changed();
  await tick(20);
  assert.equal(logs.length, 1);
  sizes.set('big', 300);
  pub.changed();
  await tick(20);
  assert.equal(big.sent.length, 2);
  assert.equal(pub.status().find((s) => s.workloadId === 'big')!.state, 'PENDING');
  assert.equal(pub.status().find((s) => s.workloadId === 'big')!.failure, undefined);
  pub.close();
});

test('the services part counts unless the sidecar already holds it', async () => {
  let shared = 5_000;
  const build = (): BuiltSnapshot => ({ signature: `s${shared}`, servicesVersion: shared, content: { trustDomain: 'td', trustBundle: [], services: [], resources: [] }, bytes: { shared, own: 10 } });
  const pub = new SnapshotPublisher({ build, clock: new FrozenClock(0), debounceMs: 5, maxSnapshotBytes: 10_000 });
  const s = fakeStream();
  pub.add(s.stream, workload('w'));
  assert.equal(s.sent.length, 1);
  assert.equal(pub.status()[0]!.sentBytes, 5_010);
  pub.answer(s.stream, { workloadId: 'w', version: s.sent[0]!.version, nonce: s.sent[0]!.nonce, error: '' });
  shared = 20_000;
  pub.changed();
  await tick(20);
  assert.equal(s.sent.length, 1);
  assert.equal(pub.status()[0]!.state, 'FAILED');
  pub.close();
});
