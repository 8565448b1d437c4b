// Weighted pick over many seeded draws lands near the configured shares (deterministic: the
// random source is seeded, and the tolerance is wide).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { seeded } from './testing/fixtures.js';
import { effectiveWeights, pick } from './weighted.js';

test('each destination is picked about weight / total of the time', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 5 }), fc.integer(), (weights, seed) => {
    const list = effectiveWeights(weights.map((weight, i) => ({ weight, i })));
    fc.pre(list.length > 0);
    const total = list.reduce((s, d) => s + d.weight, 0);
    const random = seeded(seed);
    const counts = new Map<number, number>();
    const draws = 4000;
    for (let n = 0; n < draws; n++) {
      const d = pick(list, random)!;
      counts.set(d.i, (counts.get(d.i) ?? 0) + 1);
    }
    for (const d of list) {
      const share = (counts.get(d.i) ?? 0) / draws;
      assert.ok(Math.abs(share - d.weight / total) < 0.05, `weight ${d.weight}/${total}: share ${share}`);
    }
    for (const w of weights.map((weight, i) => ({ weight, i })).filter((x) => x.weight === 0)) assert.equal(counts.get(w.i), undefined);
  }), { numRuns: 40 });
});

test('a lone destination takes everything, even at weight 0; an empty list picks nothing', () => {
  assert.deepEqual(effectiveWeights([{ weight: 0 }]), [{ weight: 100 }]);
  assert.equal(pick([], () => 0.5), undefined);
  assert.deepEqual(pick([{ weight: 1 }, { weight: 1 }], () => 0.999999), { weight: 1 });
});

test('a broken random source still picks a member', () => {
  const list = [{ weight: 1 }, { weight: 3 }];
  for (const r of [NaN, -0.5, 1, 7]) assert.ok(list.includes(pick(list, () => r)!));
});
