import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SubscriberStatus } from '../../controlplane/discovery/publisher.js';
import { isWeftError } from '../../lib/errors.js';
import { syncState } from './proxy-status.js';
import { findSidecar, shortIdentity } from './sidecar-admin.js';

const s = (workloadId: string, sa: string, extra: Partial<SubscriberStatus> = {}): SubscriberStatus => ({
  workloadId, spiffeId: `spiffe://td/ns/default/sa/${sa}`, namespace: 'default', labels: {}, sentVersion: 3, state: 'ACK', ackedVersion: 3, connectedAt: '', lastContact: '', ...extra,
});

test('sync states as istioctl words them', () => {
  assert.equal(syncState(s('a', 'x')), 'SYNCED');
  assert.equal(syncState(s('a', 'x', { state: 'PENDING', ackedVersion: 0 })), 'STALE (Never Acknowledged)');
  assert.equal(syncState(s('a', 'x', { state: 'PENDING', ackedVersion: 2 })), 'STALE');
  assert.equal(syncState(s('a', 'x', { state: 'NACK' })), 'NACK');
  assert.equal(syncState(s('a', 'x', { state: 'FAILED' })), 'NOT SENT (too large)');
});

test('a workload is found by id, SPIFFE ID, NAME.NAMESPACE or NAME; replicas are ambiguous by name', () => {
  const all = [s('w1', 'details'), s('w2', 'reviews'), s('w3', 'reviews')];
  assert.equal(findSidecar(all, 'w2').workloadId, 'w2');
  assert.equal(findSidecar(all, 'spiffe://td/ns/default/sa/details').workloadId, 'w1');
  assert.equal(findSidecar(all, 'details.default').workloadId, 'w1');
  assert.equal(findSidecar(all, 'details').workloadId, 'w1');
  assert.throws(() => findSidecar(all, 'reviews'), (e: unknown) => isWeftError(e, 'WEFT_PROXY_CONFIG_AMBIGUOUS') && /w2, w3/.test((e as Error).message));
  assert.throws(() => findSidecar(all, 'details.other'), (e: unknown) => isWeftError(e, 'WEFT_PROXY_CONFIG_NOT_FOUND'));
  assert.equal(shortIdentity('spiffe://td/ns/a/sa/b'), 'ns/a/sa/b');
  assert.equal(shortIdentity('spiffe://td/other'), 'spiffe://td/other');
});
