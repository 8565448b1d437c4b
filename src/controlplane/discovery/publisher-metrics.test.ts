import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshSnapshot } from '../../api/control-plane-api.js';
import { FrozenClock } from '../../lib/clock.js';
import { SnapshotPublisher, type BuiltSnapshot, type PublisherMetrics } from './publisher.js';

function fakeStream() {
  const sent: MeshSnapshot[] = [];
  return { sent, stream: { write: (m: MeshSnapshot) => sent.push(m), end: () => undefined } as never };
}

/** Waits (bounded) until `cond` holds: the debounce timer is real. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached in 5 s');
}

function recorder() {
  const events = { pushed: [] as string[], rejected: 0, converged: [] as number[] };
  const metrics: PublisherMetrics = { pushed: (t) => events.pushed.push(t), rejected: () => void events.rejected++, converged: (ms) => events.converged.push(ms) };
  return { events, metrics };
}

test('pushes, NACKs and convergence from a change to the ACK of the snapshot carrying it', async () => {
  const clock = new FrozenClock(1_000);
  const content = { sig: 'one' };
  const build = (): BuiltSnapshot => ({ signature: content.sig, servicesVersion: 1, content: { trustDomain: 'td', trustBundle: [], services: [], resources: [content.sig] } });
  const { events, metrics } = recorder();
  const pub = new SnapshotPublisher({ build, clock, debounceMs: 5, metrics });
  const { sent, stream } = fakeStream();
  pub.add(stream, { workloadId: 'w1', spiffeId: 'spiffe://td/ns/a/sa/w1', namespace: 'a', labels: {} });
  assert.equal(pub.connected, 1);
  pub.answer(stream, { workloadId: 'w1', version: sent[0]!.version, nonce: sent[0]!.nonce, error: '' });
  assert.deepEqual(events.converged, [], 'a first snapshot on connect is not a change converging');

  content.sig = 'two';
  pub.changed();
  clock.advance(300);
  pub.changed(); // a second change in the same window: convergence counts from the first
  await until(() => sent.length === 2);
  clock.advance(200);
  pub.answer(stream, { workloadId: 'w1', version: sent[1]!.version, nonce: sent[1]!.nonce, error: '' });
  assert.deepEqual(events.converged, [500]);

  content.sig = 'three';
  pub.changed();
  await until(() => sent.length === 3);
  pub.answer(stream, { workloadId: 'w1', version: sent[2]!.version, nonce: sent[2]!.nonce, error: 'bad snapshot' });
  assert.equal(events.rejected, 1);
  assert.deepEqual(events.converged, [500], 'a NACK is not convergence');
  assert.deepEqual(events.pushed, ['snapshot', 'snapshot', 'snapshot']);

  // A change that does not concern the sidecar pushes nothing and measures nothing.
  pub.changed();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sent.length, 3);
  pub.remove(stream);
  assert.equal(pub.connected, 0);
  pub.close();
});

test('a snapshot too large to send is counted as snapshot_toolarge', () => {
  const { events, metrics } = recorder();
  const build = (): BuiltSnapshot => ({ signature: 's', servicesVersion: 1, content: { trustDomain: 'td', trustBundle: [], services: [], resources: [] }, bytes: { shared: 10, own: 5_000 } });
  const pub = new SnapshotPublisher({ build, clock: new FrozenClock(0), maxSnapshotBytes: 1024, metrics });
  const { sent, stream } = fakeStream();
  pub.add(stream, { workloadId: 'w1', spiffeId: 'spiffe://td/ns/a/sa/w1', namespace: 'a', labels: {} });
  assert.equal(sent.length, 0);
  assert.deepEqual(events.pushed, ['snapshot_toolarge']);
  pub.close();
});
