// Properties of the choosers (fast-check, seeded): only endpoints of the pool come back, never an
// avoided one while another will do; round robin visits each endpoint once per cycle; least
// request prefers the less loaded endpoints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LeastRequest, RandomChoice, RoundRobin, type ChooseContext, type Chooser, type LoadView } from './balancers.js';
import { ConsistentHash } from './consistent-hash.js';
import { hash53 } from './hash.js';
import { endpoints, seededRandom } from './testing/cluster-fixtures.js';
import type { EndpointView } from './types.js';

const RUNS = { seed: 20261207, numRuns: 200 };

function ctxOf(random: () => number, avoided: ReadonlySet<string>, extra: Partial<ChooseContext> = {}): ChooseContext {
  return { random, avoid: avoided.size === 0 ? undefined : { avoids: (ep: EndpointView) => avoided.has(ep.key) }, load: undefined, hash: undefined, ...extra };
}

const CHOOSERS: [string, () => Chooser, boolean][] = [
  ['ROUND_ROBIN', () => new RoundRobin(), false],
  ['RANDOM', () => new RandomChoice(), false],
  ['LEAST_REQUEST', () => new LeastRequest(), false],
  ['ring hash', () => new ConsistentHash({ kind: 'ring-hash', minimumRingSize: 64 }), true],
  ['maglev', () => new ConsistentHash({ kind: 'maglev', tableSize: 251 }), true],
];

for (const [name, make, hashed] of CHOOSERS) {
  test(`${name}: picks come from the pool and avoid what the caller avoids while another will do`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 24 }), fc.array(fc.boolean(), { maxLength: 24 }), fc.integer(), fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (n, avoidMask, seed, keys) => {
        const pool = endpoints(n);
        const avoided = new Set(pool.filter((_, i) => avoidMask[i] === true).map((e) => e.key));
        const chooser = make();
        const random = seededRandom(seed);
        const loads = new Map(pool.map((e, i) => [e.key, (i * 7) % 5]));
        const load: LoadView = { activeRequests: (k) => loads.get(k) ?? 0 };
        for (const key of keys) {
          const got = chooser.choose(pool, ctxOf(random, avoided, { load, hash: hashed ? hash53(key) : undefined }));
          if (n === 0) {
            assert.equal(got, undefined);
            continue;
          }
          assert.ok(got !== undefined && pool.includes(got));
          if (avoided.size < n) assert.ok(!avoided.has(got.key), `${got.key} is avoided but ${n - avoided.size} endpoints are not`);
        }
      }),
      RUNS,
    );
  });
}

test('ROUND_ROBIN: every cycle of n picks visits each endpoint once, from wherever the cursor stands', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 50 }), (n, warm) => {
      const pool = endpoints(n);
      const rr = new RoundRobin();
      const ctx = ctxOf(() => 0, new Set());
      for (let i = 0; i < warm; i++) rr.choose(pool, ctx);
      for (let cycle = 0; cycle < 3; cycle++) {
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) seen.add(rr.choose(pool, ctx)!.key);
        assert.equal(seen.size, n);
      }
    }),
    RUNS,
  );
});

test('LEAST_REQUEST: picks land on less loaded endpoints than a uniform pick would', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 2, maxLength: 12 }), fc.integer(), (loadList, seed) => {
      fc.pre(new Set(loadList).size > 1);
      const pool = endpoints(loadList.length);
      const loads = new Map(pool.map((e, i) => [e.key, loadList[i]!]));
      const lr = new LeastRequest();
      const ctx = ctxOf(seededRandom(seed), new Set(), { load: { activeRequests: (k) => loads.get(k)! } });
      let sum = 0;
      const picks = 2000;
      for (let i = 0; i < picks; i++) sum += loads.get(lr.choose(pool, ctx)!.key)!;
      const uniform = loadList.reduce((a, b) => a + b, 0) / loadList.length;
      assert.ok(sum / picks < uniform, `mean load picked ${sum / picks} is not below the uniform mean ${uniform}`);
    }),
    { seed: 20261207, numRuns: 60 },
  );
});

test('LEAST_REQUEST: of an idle and a busy endpoint, the idle one gets about three quarters of the picks', () => {
  const pool = endpoints(2);
  const lr = new LeastRequest();
  const ctx = ctxOf(seededRandom(7), new Set(), { load: { activeRequests: (k) => (k === pool[1]!.key ? 10 : 0) } });
  let idle = 0;
  for (let i = 0; i < 4000; i++) if (lr.choose(pool, ctx) === pool[0]) idle++;
  assert.ok(idle > 2600 && idle < 3400, `idle endpoint chosen ${idle} of 4000 times`);
});

test('RANDOM: every endpoint gets a share near 1/n', () => {
  const pool = endpoints(5);
  const rnd = new RandomChoice();
  const ctx = ctxOf(seededRandom(3), new Set());
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const k = rnd.choose(pool, ctx)!.key;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const ep of pool) assert.ok((counts.get(ep.key) ?? 0) > 1500, `${ep.key}: ${counts.get(ep.key)}`);
});

test('every endpoint avoided: the plain choice comes back rather than nothing', () => {
  const pool = endpoints(3);
  const all = new Set(pool.map((e) => e.key));
  for (const [, make] of CHOOSERS) {
    const got = make().choose(pool, ctxOf(seededRandom(1), all, { hash: 12345 }));
    assert.ok(got !== undefined && pool.includes(got));
  }
});
