import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrozenClock } from '../../lib/clock.js';
import { ServiceRegistry } from '../../registry/index.js';
import { SnapshotBuilder } from './snapshot-builder.js';

const workload = { workloadId: 'w1', spiffeId: 'spiffe://td/ns/a/sa/w', namespace: 'a', labels: {} };

test('every snapshot carries the revocation list in full, and a change of it changes the signature (a push follows)', () => {
  const revoked = { version: 0, serials: [] as string[] };
  const builder = new SnapshotBuilder({
    registry: new ServiceRegistry({ trustDomain: 'td', clock: new FrozenClock(0) }),
    trustDomain: 'td',
    trustBundle: () => [],
    resources: () => ({ revision: 1, items: [] }),
    revocations: () => revoked,
  });
  const before = builder.build(workload);
  assert.deepEqual(before.content.revokedSerials, []);
  revoked.version = 1;
  revoked.serials = ['4a4a', '7f7f'];
  const after = builder.build(workload);
  assert.deepEqual(after.content.revokedSerials, ['4a4a', '7f7f']);
  assert.notEqual(after.signature, before.signature);
  assert.equal(builder.build(workload).signature, after.signature, 'unchanged list, unchanged signature');
});

test('a builder without a revocation source sends an empty list', () => {
  const builder = new SnapshotBuilder({ registry: new ServiceRegistry({ trustDomain: 'td' }), trustDomain: 'td', trustBundle: () => [], resources: () => ({ revision: 1, items: [] }) });
  assert.deepEqual(builder.build(workload).content.revokedSerials, []);
});
