import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { localityMatches, localityPriority, parseLocality, planLocality, priorityLoad } from './locality.js';
import { CALLER, endpoint } from './testing/cluster-fixtures.js';
import type { EndpointView } from './types.js';

// CALLER sits in eu/eu-a/r1.
const EPS: EndpointView[] = [
  endpoint(0, { locality: 'eu/eu-a/r1' }),
  endpoint(1, { locality: 'eu/eu-a/r2' }),
  endpoint(2, { locality: 'eu/eu-b/r1' }),
  endpoint(3, { locality: 'us/us-a/r1' }),
  endpoint(4, { locality: 'ap/ap-a/r1' }),
  endpoint(5, { locality: '' }),
];
const keysOf = (plan: ReturnType<typeof planLocality>) => plan.map((groups) => groups.flatMap((g) => g.endpoints.map((e) => EPS.indexOf(e))));

describe('locality priorities', () => {
  test('LbPriority: subzone 0, zone 1, region 2, elsewhere 3', () => {
    const here = parseLocality('eu/eu-a/r1');
    assert.deepEqual(EPS.map((e) => localityPriority(here, parseLocality(e.locality))), [0, 1, 2, 3, 3, 3]);
  });

  test('LocalityMatch: * and empty parts are wildcards; the region must match', () => {
    const l = parseLocality('eu/eu-a/r1');
    assert.equal(localityMatches(l, 'eu'), true);
    assert.equal(localityMatches(l, 'eu/*'), true);
    assert.equal(localityMatches(l, 'eu/eu-a/*'), true);
    assert.equal(localityMatches(l, '*'), true);
    assert.equal(localityMatches(l, 'eu/eu-b'), false);
    assert.equal(localityMatches(l, 'us/*'), false);
  });

  test('failover applies only with outlier detection; then priorities follow the caller\'s locality', () => {
    assert.deepEqual(keysOf(planLocality(EPS, CALLER, undefined, false)), [[0, 1, 2, 3, 4, 5]]);
    assert.deepEqual(keysOf(planLocality(EPS, CALLER, undefined, true)), [[0], [1], [2], [3, 4, 5]]);
    assert.deepEqual(keysOf(planLocality(EPS, CALLER, { enabled: false }, true)), [[0, 1, 2, 3, 4, 5]]);
    assert.deepEqual(keysOf(planLocality(EPS, { ...CALLER, locality: '' }, undefined, true)), [[0, 1, 2, 3, 4, 5]]);
  });

  test('failover from the caller\'s region names the region to try next; the rest comes last', () => {
    const plan = planLocality(EPS, CALLER, { failover: [{ from: 'eu', to: 'ap' }, { from: 'us', to: 'eu' }] }, true);
    assert.deepEqual(keysOf(plan), [[0], [1], [2], [4], [3, 5]]);
  });

  test('failoverPriority orders by the labels the endpoint shares with the caller, the first weighing most', () => {
    const eps = [
      endpoint(0, { labels: { net: 'n1', tier: 'gold' } }),
      endpoint(1, { labels: { net: 'n1', tier: 'iron' } }),
      endpoint(2, { labels: { net: 'n2', tier: 'gold' } }),
      endpoint(3, { labels: { tier: 'gold', pinned: 'yes' } }),
    ];
    const caller = { ...CALLER, labels: { net: 'n1', tier: 'gold' } };
    const plan = planLocality(eps, caller, { failoverPriority: ['net', 'tier'] }, true);
    assert.deepEqual(plan.map((g) => g.flatMap((x) => x.endpoints.map((e) => eps.indexOf(e)))), [[0], [1], [2, 3]]);
    const pinned = planLocality(eps, caller, { failoverPriority: ['pinned=yes'] }, true);
    assert.deepEqual(pinned.map((g) => g.flatMap((x) => x.endpoints.map((e) => eps.indexOf(e)))), [[3], [0, 1, 2]]);
  });

  test('distribute: the first matching rule weighs localities, wildcards share by size, unmatched get nothing', () => {
    const plan = planLocality(EPS, CALLER, { distribute: [{ from: 'us/*', to: { 'us/*': 100 } }, { from: 'eu/eu-a/*', to: { 'eu/eu-a/*': 80, 'us/*': 20 } }] }, false);
    assert.equal(plan.length, 1);
    assert.deepEqual(plan[0]!.map((g) => [g.endpoints.map((e) => EPS.indexOf(e)), g.weight]), [[[0], 40], [[1], 40], [[3], 20]]);
    const none = planLocality(EPS, CALLER, { distribute: [{ from: 'us/*', to: { 'us/*': 100 } }] }, false);
    assert.deepEqual(keysOf(none), [[0, 1, 2, 3, 4, 5]]);
  });
});

describe('priorityLoad', () => {
  test('a priority at or above 1/1.4 healthy takes all the load', () => {
    assert.deepEqual(priorityLoad([{ total: 10, healthy: 8 }, { total: 10, healthy: 10 }], 0).load, [100, 0]);
    assert.deepEqual(priorityLoad([{ total: 7, healthy: 5 }, { total: 10, healthy: 10 }], 0).load, [100, 0]);
  });

  test('below that the rest spills to the next priority', () => {
    // health(P0) = 140 × 5/10 = 70 → 70%; P1 takes the remaining 30%.
    assert.deepEqual(priorityLoad([{ total: 10, healthy: 5 }, { total: 10, healthy: 10 }], 0).load, [70, 30]);
    // P0 and P1 half healthy: 70 + 70 capped at 100, normalised: 70/100 and 30.
    assert.deepEqual(priorityLoad([{ total: 10, healthy: 5 }, { total: 10, healthy: 5 }, { total: 4, healthy: 4 }], 0).load, [70, 30, 0]);
    // Little health everywhere: normalised by the total (14 and 28 of 42), the rounding remainder to P0.
    assert.deepEqual(priorityLoad([{ total: 10, healthy: 1 }, { total: 10, healthy: 2 }], 0).load, [34, 66]);
  });

  test('threshold 0 and nothing healthy: no load anywhere, so no endpoint is picked', () => {
    const got = priorityLoad([{ total: 3, healthy: 0 }, { total: 2, healthy: 0 }], 0);
    assert.deepEqual(got.load, [0, 0]);
  });

  test('a priority below the panic threshold is in panic; all in panic means load by host count', () => {
    const some = priorityLoad([{ total: 10, healthy: 3 }, { total: 10, healthy: 10 }], 50);
    assert.deepEqual(some.panic, [true, false]);
    const all = priorityLoad([{ total: 6, healthy: 0 }, { total: 2, healthy: 0 }], 50);
    assert.deepEqual(all.panic, [true, true]);
    assert.deepEqual(all.load, [75, 25]);
  });

  test('property: the load sums to 100 whenever anything can serve, each share in [0, 100]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }).chain((total) => fc.record({ total: fc.constant(total), healthy: fc.integer({ min: 0, max: total }) })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 100 }),
        (levels, threshold) => {
          const { load, panic } = priorityLoad(levels, threshold);
          assert.equal(load.length, levels.length);
          assert.equal(panic.length, levels.length);
          for (const l of load) assert.ok(l >= 0 && l <= 100 && Number.isInteger(l));
          const sum = load.reduce((a, b) => a + b, 0);
          const anyHealthy = levels.some((l) => l.healthy > 0);
          if (anyHealthy || threshold > 0) assert.equal(sum, 100);
          else assert.equal(sum, 0);
          // Never load on a priority that has nothing to offer outside panic.
          levels.forEach((l, i) => {
            if (l.healthy === 0 && !panic[i]) assert.equal(load[i], 0);
          });
        },
      ),
      { seed: 20261207, numRuns: 500 },
    );
  });
});
