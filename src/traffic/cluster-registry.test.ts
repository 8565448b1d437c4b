import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolvePolicy } from './cluster-policy.js';
import { ClusterRegistry, clusterName } from './cluster-registry.js';
import { CALLER, endpoints, seededRandom } from './testing/cluster-fixtures.js';

const registry = () => new ClusterRegistry({ caller: CALLER, random: seededRandom(1) });
const withOutlier = (lb: 'RANDOM' | 'ROUND_ROBIN' = 'ROUND_ROBIN', base = '30s') => resolvePolicy({ loadBalancer: { simple: lb }, outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100, baseEjectionTime: base } }, ['shop/r']);

test('cluster names are Envoy\'s', () => {
  assert.equal(clusterName('reviews.shop.svc.cluster.local', 'v1', 80), 'outbound|80|v1|reviews.shop.svc.cluster.local');
  assert.equal(clusterName('reviews.shop.svc.cluster.local', undefined, 80), 'outbound|80||reviews.shop.svc.cluster.local');
});

test('an equal policy from a new snapshot keeps the state; a changed one keeps ejections when outlierDetection is unchanged', () => {
  const r = registry();
  const a = r.cluster('c', withOutlier(), 0);
  a.outlier!.record('k', '5xx', 0);
  assert.equal(a.outlier!.isEjected('k', 0), true);
  const same = r.cluster('c', withOutlier(), 0);
  assert.equal(same.balancer, a.balancer);
  assert.equal(same.outlier, a.outlier);
  const changedLb = r.cluster('c', withOutlier('RANDOM'), 0);
  assert.notEqual(changedLb.balancer, a.balancer);
  assert.equal(changedLb.outlier, a.outlier, 'ejections survive a load balancer change');
  const changedOutlier = r.cluster('c', withOutlier('RANDOM', '60s'), 0);
  assert.notEqual(changedOutlier.outlier, a.outlier);
  assert.equal(changedOutlier.outlier!.isEjected('k', 0), false);
  const none = r.cluster('c', resolvePolicy(undefined, []), 0);
  assert.equal(none.outlier, undefined);
});

test('tick runs each detector at its interval and reports who came back', () => {
  const r = registry();
  const s = r.cluster('c', withOutlier(), 0);
  const eps = endpoints(2);
  s.outlier!.syncHosts(eps.map((e) => e.key));
  s.outlier!.record(eps[0]!.key, '5xx', 1_000);
  assert.equal(r.tick(5_000).size, 0, 'before the first interval nothing runs');
  assert.equal(r.tick(10_000).size, 0, 'the first sweep: still ejected');
  assert.equal(r.tick(20_000).size, 0);
  assert.equal(r.tick(30_000).size, 0);
  assert.deepEqual([...r.tick(40_000)], [['c', [eps[0]!.key]]]);
  assert.deepEqual(r.stats().map((x) => [x.name, x.outlier?.ejectionsTotal, x.outlier?.ejectionsActive]), [['c', 1, 0]]);
});

test('retain forgets clusters no longer in use', () => {
  const r = registry();
  r.cluster('a', withOutlier(), 0);
  r.cluster('b', withOutlier(), 0);
  r.retain(new Set(['b']));
  assert.equal(r.size, 1);
  assert.deepEqual(r.stats().map((x) => x.name), ['b']);
});
