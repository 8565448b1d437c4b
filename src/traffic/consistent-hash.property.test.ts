// Properties of consistent hashing (fast-check, seeded): a key always maps to the same endpoint,
// also across independent builds; removing one endpoint of n remaps about 1/n of the keys; a
// Maglev table gives every endpoint its equal share within one slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildMaglev, buildRing, ConsistentHash, ringLookup } from './consistent-hash.js';
import { hash53 } from './hash.js';
import { endpoints } from './testing/cluster-fixtures.js';
import type { HashAlgorithm } from './cluster-policy.js';
import type { EndpointView } from './types.js';

const RUNS = { seed: 20261207, numRuns: 40 };
const ALGORITHMS: HashAlgorithm[] = [{ kind: 'ring-hash', minimumRingSize: 1024 }, { kind: 'maglev', tableSize: 65537 }];

function mapKeys(algorithm: HashAlgorithm, pool: readonly EndpointView[], keys: readonly string[]): string[] {
  const ch = new ConsistentHash(algorithm);
  const ctx = { random: () => 0, avoid: undefined, load: undefined, hash: 0 };
  return keys.map((k) => {
    ctx.hash = hash53(k);
    return ch.choose(pool, ctx)!.key;
  });
}

const KEYS = Array.from({ length: 3000 }, (_, i) => `user-${i}`);

for (const algorithm of ALGORITHMS) {
  test(`${algorithm.kind}: the same key maps to the same endpoint, in one table and across builds`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.string(), { minLength: 1, maxLength: 30 }), (n, keys) => {
        const pool = endpoints(n);
        const first = mapKeys(algorithm, pool, [...keys, ...keys]);
        assert.deepEqual(first.slice(0, keys.length), first.slice(keys.length));
        assert.deepEqual(mapKeys(algorithm, [...pool], keys), first.slice(0, keys.length));
      }),
      RUNS,
    );
  });

  test(`${algorithm.kind}: removing one endpoint of n remaps about 1/n of the keys`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 30 }), fc.nat(), (n, which) => {
        const pool = endpoints(n);
        const gone = pool[which % n]!;
        const before = mapKeys(algorithm, pool, KEYS);
        const after = mapKeys(algorithm, pool.filter((e) => e !== gone), KEYS);
        let moved = 0;
        for (let i = 0; i < KEYS.length; i++) if (before[i] !== after[i]) moved++;
        const fraction = moved / KEYS.length;
        // The keys of the removed endpoint must move (≈1/n); a good table moves few others.
        assert.ok(fraction <= 2 / n + 0.05, `moved ${(fraction * 100).toFixed(1)}% of keys with n=${n}`);
        for (let i = 0; i < KEYS.length; i++) if (before[i] === gone.key) assert.notEqual(after[i], gone.key);
      }),
      { seed: 20261207, numRuns: 15 },
    );
  });

  test(`${algorithm.kind}: keys spread over every endpoint`, () => {
    const pool = endpoints(10);
    const counts = new Map<string, number>();
    for (const k of mapKeys(algorithm, pool, KEYS)) counts.set(k, (counts.get(k) ?? 0) + 1);
    assert.equal(counts.size, 10);
    for (const [k, c] of counts) assert.ok(c > 150 && c < 500, `${k} got ${c} of 3000 keys`);
  });
}

test('maglev: every endpoint owns its equal share of the table within one slot', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.constantFrom(251, 1021, 65537), (n, m) => {
      const table = buildMaglev(endpoints(n), m);
      const counts = new Array<number>(n).fill(0);
      for (const i of table) {
        assert.ok(i >= 0 && i < n, 'every slot is filled with an endpoint');
        counts[i]!++;
      }
      const lo = Math.floor(m / n);
      for (const c of counts) assert.ok(c === lo || c === lo + 1, `share ${c}, expected ${lo} or ${lo + 1}`);
    }),
    { seed: 20261207, numRuns: 30 },
  );
});

test('ring: the ring has at least the minimum size and every endpoint is on it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 5000 }), (n, min) => {
      const ring = buildRing(endpoints(n), min);
      assert.ok(ring.points.length >= min && ring.points.length >= n);
      const seen = new Set<number>();
      for (const p of ring.points) seen.add(p % 1_048_576);
      assert.equal(seen.size, n);
      for (let k = 0; k < 50; k++) assert.ok(ringLookup(ring, hash53(`k${k}`)) < n);
    }),
    { seed: 20261207, numRuns: 60 },
  );
});
