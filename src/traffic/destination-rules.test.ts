import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONNECT_TIMEOUT_MS, ENVOY_PANIC_THRESHOLD_PERCENT, UNLIMITED, durationMs } from './cluster-policy.js';
import { canonicalHost, compileClusters, visibleTo } from './destination-rules.js';
import { CALLER, dr, endpoints, MESH, service } from './testing/cluster-fixtures.js';
import type { CallerView, ServiceView } from './types.js';

const REVIEWS = service('reviews', 'shop', endpoints(4, (i) => ({ labels: { app: 'reviews', version: i < 2 ? 'v1' : 'v2' } })));
const SERVICES: ServiceView[] = [REVIEWS, service('ratings', 'shop'), service('frontend', 'web')];

function table(resources: Parameters<typeof compileClusters>[0]['resources'], caller: CallerView = CALLER) {
  return compileClusters({ mesh: MESH, caller, resources, services: SERVICES });
}

describe('policyFor: defaults', () => {
  test('no rule: LEAST_REQUEST, unlimited breakers, 10 s connect timeout, no outlier detection, Envoy panic threshold', () => {
    const p = table([]).policyFor('reviews.shop', undefined, 80);
    assert.deepEqual(p.loadBalancer, { kind: 'simple', algorithm: 'LEAST_REQUEST' });
    assert.equal(p.connectionPool.maxConnections, UNLIMITED);
    assert.equal(p.connectionPool.maxPendingRequests, 4294967295);
    assert.equal(p.connectionPool.maxRequests, UNLIMITED);
    assert.equal(p.connectionPool.maxRetries, UNLIMITED);
    assert.equal(p.connectionPool.maxRequestsPerConnection, 0);
    assert.equal(p.connectionPool.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    assert.equal(p.connectionPool.idleTimeoutMs, 3_600_000);
    assert.equal(p.outlierDetection, undefined);
    assert.equal(p.panicThresholdPercent, ENVOY_PANIC_THRESHOLD_PERCENT);
    assert.deepEqual(p.rules, []);
  });

  test('an empty outlierDetection block: 5 consecutive 5xx, 10 s interval, 30 s base, 10%, panic off', () => {
    const p = table([dr('shop', 'r', { host: 'reviews', trafficPolicy: { outlierDetection: {} } })]).policyFor('reviews.shop', undefined, 80);
    assert.deepEqual({ ...p.outlierDetection, errorStatuses: undefined }, {
      consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, splitExternalLocalOriginErrors: false, consecutiveLocalOriginFailures: 5,
      intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 10, errorStatuses: undefined,
    });
    assert.equal(p.panicThresholdPercent, 0);
  });

  test('deprecated consecutiveErrors counts gateway errors only; 0 values of the pool mean unset', () => {
    const p = table([dr('shop', 'r', { host: 'reviews', trafficPolicy: {
      outlierDetection: { consecutiveErrors: 3, minHealthPercent: 40 },
      connectionPool: { tcp: { maxConnections: 0, connectTimeout: '250ms' }, http: { maxRetries: 0, http2MaxRequests: 7, idleTimeout: '0s' } },
    } })]).policyFor('reviews.shop', undefined, 80);
    assert.equal(p.outlierDetection?.consecutiveGatewayErrors, 3);
    assert.equal(p.outlierDetection?.consecutive5xxErrors, 0);
    assert.equal(p.panicThresholdPercent, 40);
    assert.equal(p.connectionPool.maxConnections, UNLIMITED);
    assert.equal(p.connectionPool.maxRetries, UNLIMITED);
    assert.equal(p.connectionPool.maxRequests, 7);
    assert.equal(p.connectionPool.connectTimeoutMs, 250);
    assert.equal(p.connectionPool.idleTimeoutMs, 0);
  });

  test('LEAST_CONN and UNSPECIFIED are LEAST_REQUEST; a hash without a key hashes nothing', () => {
    for (const simple of ['LEAST_CONN', 'UNSPECIFIED'] as const) {
      assert.deepEqual(table([dr('shop', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { simple } } })]).policyFor('reviews.shop', undefined, 80).loadBalancer, { kind: 'simple', algorithm: 'LEAST_REQUEST' });
    }
    const p = table([dr('shop', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { maglev: {} } } } })]).policyFor('reviews.shop', undefined, 80);
    assert.deepEqual(p.loadBalancer, { kind: 'consistent-hash', key: { kind: 'none' }, algorithm: { kind: 'maglev', tableSize: 65537 } });
  });

  test('a giant minimumRingSize is capped; the default ring is 1024', () => {
    const big = table([dr('shop', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'X-User', ringHash: { minimumRingSize: 8_000_000 } } } } })]).policyFor('reviews.shop', undefined, 80);
    assert.deepEqual(big.loadBalancer, { kind: 'consistent-hash', key: { kind: 'header', name: 'x-user' }, algorithm: { kind: 'ring-hash', minimumRingSize: 1_048_576 } });
    const dflt = table([dr('shop', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } })]).policyFor('reviews.shop', undefined, 80);
    assert.deepEqual(dflt.loadBalancer, { kind: 'consistent-hash', key: { kind: 'source-ip' }, algorithm: { kind: 'ring-hash', minimumRingSize: 1024 } });
  });

  test('durationMs reads every form validation accepts and falls back on anything else', () => {
    assert.equal(durationMs('1h30m', 0), 5_400_000);
    assert.equal(durationMs('1.5s', 0), 1500);
    assert.equal(durationMs('500us', 0), 1); // rounded to Envoy's millisecond
    assert.equal(durationMs('0', 9), 0);
    assert.equal(durationMs('10', 9), 9);
    assert.equal(durationMs('', 9), 9);
    assert.equal(durationMs('5s junk', 9), 9);
  });
});

describe('policyFor: which rule', () => {
  test('the caller\'s namespace wins over the service\'s, which wins over the root namespace', () => {
    const root = dr('istio-system', 'root', { host: 'reviews.shop.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } });
    const svc = dr('shop', 'svc', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } });
    const own = dr('web', 'own', { host: 'reviews.shop.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'PASSTHROUGH' } } });
    assert.deepEqual(table([root]).policyFor('reviews.shop', undefined, 80).rules, ['istio-system/root']);
    assert.deepEqual(table([root, svc]).policyFor('reviews.shop', undefined, 80).rules, ['shop/svc']);
    assert.deepEqual(table([root, svc, own]).policyFor('reviews.shop', undefined, 80).rules, ['web/own']);
  });

  test('a rule the service namespace does not export to the caller is not used', () => {
    const priv = dr('shop', 'priv', { host: 'reviews', exportTo: ['.'] });
    const other = dr('shop', 'other', { host: 'reviews', exportTo: ['billing'] });
    const none = dr('shop', 'none', { host: 'reviews', exportTo: ['~'] });
    assert.equal(table([priv, other, none]).ruleFor('reviews.shop'), undefined);
    assert.deepEqual(table([dr('shop', 'named', { host: 'reviews', exportTo: ['web'] })]).ruleFor('reviews.shop')?.rules, ['shop/named']);
    assert.deepEqual(table([priv], { ...CALLER, namespace: 'shop' }).ruleFor('reviews')?.rules, ['shop/priv']);
  });

  test('the most specific host wins within a namespace, whatever the order', () => {
    const all = dr('shop', 'all', { host: '*' });
    const wild = dr('shop', 'wild', { host: '*.shop.svc.cluster.local' });
    const exact = dr('shop', 'exact', { host: 'reviews.shop.svc.cluster.local' });
    assert.deepEqual(table([all, wild, exact]).ruleFor('reviews.shop.svc.cluster.local')?.rules, ['shop/exact']);
    assert.deepEqual(table([all, wild, exact]).ruleFor('ratings.shop')?.rules, ['shop/wild']);
    // A host outside the registry has no service namespace: only the caller's and the root namespace count.
    assert.equal(table([all, wild]).ruleFor('example.com'), undefined);
    assert.deepEqual(table([all, wild], { ...CALLER, namespace: 'shop' }).ruleFor('example.com')?.rules, ['shop/all']);
  });

  test('short hosts resolve in the rule\'s namespace, not the caller\'s', () => {
    const t = table([dr('shop', 'r', { host: 'frontend' })]);
    assert.equal(t.ruleFor('frontend'), undefined); // frontend.web
    assert.deepEqual(t.ruleFor('frontend.shop')?.rules, ['shop/r']);
    assert.equal(canonicalHost('Reviews.Shop.svc.', 'x', new Set(['shop']), 'svc.cluster.local'), 'reviews.shop.svc.cluster.local');
    assert.equal(canonicalHost('example.com', 'x', new Set(['shop']), 'svc.cluster.local'), 'example.com');
  });

  test('another cluster domain: hosts qualify with it, and lookups by any spelling agree', () => {
    const t = compileClusters({ mesh: MESH, caller: CALLER, resources: [dr('shop', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } })], services: SERVICES, clusterDomain: 'svc.corp.example' });
    for (const h of ['reviews.shop', 'Reviews.Shop.svc', 'reviews.shop.svc.corp.example.']) assert.deepEqual(t.ruleFor(h)?.rules, ['shop/r'], h);
    assert.equal(t.ruleFor('reviews.shop.svc.cluster.local'), undefined);
  });

  test('several rules for a host merge: subsets concatenated, the first policy wins, a duplicate subset is reported', () => {
    const a = dr('shop', 'a', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] });
    const b = dr('shop', 'b', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } }, subsets: [{ name: 'v2', labels: { version: 'v2' } }, { name: 'v1', labels: { version: 'v2' } }] });
    const c = dr('shop', 'c', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } });
    const t = table([c, b, a].reverse());
    const rule = t.ruleFor('reviews.shop');
    assert.deepEqual(rule?.rules, ['shop/a', 'shop/b', 'shop/c']);
    assert.deepEqual(rule?.subsets.map((s) => [s.name, s.labels?.version]), [['v1', 'v1'], ['v2', 'v2']]);
    assert.deepEqual(t.policyFor('reviews.shop', undefined, 80).loadBalancer, { kind: 'simple', algorithm: 'RANDOM' });
    assert.deepEqual(t.issues.map((i) => [i.kind, i.rule]), [['duplicate-subset', 'shop/b']]);
  });

  test('order is by creation time, not by position in the snapshot', () => {
    const late = dr('shop', 'late', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }, { creationTimestamp: '2026-06-01T00:00:00Z' });
    const early = dr('shop', 'early', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }, { creationTimestamp: '2025-06-01T00:00:00Z' });
    assert.deepEqual(table([late, early]).policyFor('reviews.shop', undefined, 80).loadBalancer, { kind: 'simple', algorithm: 'ROUND_ROBIN' });
  });

  test('workloadSelector: only in the rule\'s own namespace, selecting the caller by labels, before the catch-all', () => {
    const catchAll = dr('web', 'all', { host: 'reviews.shop.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } });
    const mine = dr('web', 'mine', { host: 'reviews.shop.svc.cluster.local', workloadSelector: { matchLabels: { app: 'frontend' } }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } });
    const notMine = dr('web', 'not-mine', { host: 'reviews.shop.svc.cluster.local', workloadSelector: { matchLabels: { app: 'other' } } });
    assert.deepEqual(table([catchAll, notMine, mine]).ruleFor('reviews.shop')?.rules, ['web/mine']);
    assert.deepEqual(table([catchAll, notMine]).ruleFor('reviews.shop')?.rules, ['web/all']);
    // A selecting rule elsewhere never applies to this caller: the level matched, nothing selected.
    const foreign = dr('shop', 'foreign', { host: 'reviews', workloadSelector: { matchLabels: { app: 'frontend' } } });
    assert.equal(table([foreign]).ruleFor('reviews.shop'), undefined);
  });

  test('a rule for a host that does not exist is reported and changes nothing else', () => {
    const t = table([dr('shop', 'ghost', { host: 'ghost', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } })]);
    assert.deepEqual(t.issues.map((i) => [i.kind, i.rule]), [['unknown-host', 'shop/ghost']]);
    assert.equal(t.ruleFor('reviews.shop'), undefined);
    assert.deepEqual(t.policyFor('ghost.shop', undefined, 80).loadBalancer, { kind: 'simple', algorithm: 'RANDOM' });
  });

  test('visibleTo reads *, ., ~ and namespace names', () => {
    assert.equal(visibleTo('a', undefined, 'b'), true);
    assert.equal(visibleTo('a', ['*'], 'b'), true);
    assert.equal(visibleTo('a', ['.'], 'b'), false);
    assert.equal(visibleTo('a', ['.'], 'a'), true);
    assert.equal(visibleTo('a', ['~'], 'a'), false);
    assert.equal(visibleTo('a', ['c', 'b'], 'b'), true);
  });
});

describe('policyFor: inheritance', () => {
  const rule = dr('shop', 'r', {
    host: 'reviews',
    trafficPolicy: {
      loadBalancer: { simple: 'RANDOM' },
      connectionPool: { http: { http2MaxRequests: 10, maxRetries: 2 } },
      outlierDetection: { consecutive5xxErrors: 2 },
      portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'ROUND_ROBIN' } }],
    },
    subsets: [
      { name: 'v1', labels: { version: 'v1' }, trafficPolicy: { connectionPool: { tcp: { maxConnections: 3 } } } },
      { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, connectionPool: { http: { maxRetries: 9 } } }] } },
      { name: 'v3', labels: { version: 'v3' } },
    ],
  });
  const t = table([rule]);

  test('a matching port-level entry replaces the rule\'s blocks wholesale; omitted blocks are defaults', () => {
    const p = t.policyFor('reviews.shop', undefined, 9080);
    assert.deepEqual(p.loadBalancer, { kind: 'simple', algorithm: 'ROUND_ROBIN' });
    assert.equal(p.connectionPool.maxRequests, UNLIMITED);
    assert.equal(p.outlierDetection, undefined);
    const other = t.policyFor('reviews.shop', undefined, 80);
    assert.deepEqual(other.loadBalancer, { kind: 'simple', algorithm: 'RANDOM' });
    assert.equal(other.connectionPool.maxRequests, 10);
  });

  test('a subset replaces per block, not per field', () => {
    const p = t.policyFor('reviews.shop', 'v1', 80);
    assert.equal(p.connectionPool.maxConnections, 3);
    assert.equal(p.connectionPool.maxRequests, UNLIMITED, 'the subset\'s connectionPool block replaced the rule\'s, http part included');
    assert.deepEqual(p.loadBalancer, { kind: 'simple', algorithm: 'RANDOM' });
    assert.equal(p.outlierDetection?.consecutive5xxErrors, 2);
  });

  test('a subset\'s port-level match replaces the four blocks even when they are empty', () => {
    const p = t.policyFor('reviews.shop', 'v2', 80);
    assert.equal(p.connectionPool.maxRetries, 9);
    assert.deepEqual(p.loadBalancer, { kind: 'simple', algorithm: 'LEAST_REQUEST' });
    assert.equal(p.outlierDetection, undefined);
  });

  test('a subset without a policy inherits the rule\'s policy for the port', () => {
    assert.deepEqual(t.policyFor('reviews.shop', 'v3', 9080).loadBalancer, { kind: 'simple', algorithm: 'ROUND_ROBIN' });
    assert.equal(t.policyFor('reviews.shop', 'v3', 80).connectionPool.maxRequests, 10);
  });

  test('the same question gets the same (cached) answer', () => {
    assert.equal(t.policyFor('reviews.shop', 'v1', 80), t.policyFor('reviews.shop.svc.cluster.local', 'v1', 80));
  });
});

describe('subsetEndpoints', () => {
  const t = table([dr('shop', 'r', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'none', labels: { version: 'v9' } }, { name: 'all' }] })]);

  test('filters by the subset\'s labels; no subset means every endpoint', () => {
    const v1 = t.subsetEndpoints(REVIEWS, 'v1');
    assert.ok(v1.ok);
    assert.deepEqual(v1.endpoints.map((e) => e.labels.version), ['v1', 'v1']);
    const none = t.subsetEndpoints(REVIEWS, 'none');
    assert.ok(none.ok);
    assert.equal(none.endpoints.length, 0);
    const all = t.subsetEndpoints(REVIEWS, 'all');
    assert.ok(all.ok);
    assert.equal(all.endpoints.length, 4);
    const whole = t.subsetEndpoints(REVIEWS, undefined);
    assert.ok(whole.ok);
    assert.equal(whole.endpoints, REVIEWS.endpoints);
    assert.equal(t.subsetEndpoints(REVIEWS, 'v1'), v1, 'cached per snapshot');
  });

  test('a subset no rule defines is an answer, not a crash', () => {
    const answer = t.subsetEndpoints(REVIEWS, 'v7');
    assert.equal(answer.ok, false);
    assert.ok(!answer.ok && answer.reason === 'undefined-subset' && answer.message.includes('v7'));
    const bare = table([]).subsetEndpoints(REVIEWS, 'v1');
    assert.equal(bare.ok, false);
  });

  test('compiles 200 rules once and answers from the index', () => {
    const many = Array.from({ length: 200 }, (_, i) => dr(`ns${i % 20}`, `r${i}`, { host: `svc${i}`, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }));
    const big = table([...many, dr('shop', 'r', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } })]);
    assert.deepEqual(big.policyFor('reviews.shop', undefined, 80).rules, ['shop/r']);
    assert.deepEqual(big.ruleFor('svc7.ns7.svc.cluster.local')?.rules, ['ns7/r7']);
  });
});
