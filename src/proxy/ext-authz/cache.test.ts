// The decision cache: LRU bounds in entries and bytes, TTLs (the provider's, the default, the
// cap), counters; and the property that matters: a cached answer is only ever served to a request
// whose check, as sent, is identical to the one that earned it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrozenClock } from '../../lib/clock.js';
import { canonicalJson, checkKey, compileProvider, grpcCheckRequest, type CheckInput, type GrpcProvider } from '../../policy/index.js';
import type { ProviderAnswer } from './answer.js';
import { DecisionCache } from './cache.js';

const settings = { maxEntries: 3, maxBytes: 1 << 20, defaultTtlMs: 10_000, maxTtlMs: 60_000 };
const deny = (body: string, ttlMs?: number): ProviderAnswer => ({ kind: 'deny', status: 403, headers: [], body, ...(ttlMs === undefined ? {} : { ttlMs }) });

test('ok/entries live for the default TTL, or the provider\'s, never past maxTtl', () => {
  const clock = new FrozenClock();
  const c = new DecisionCache(settings, clock);
  c.set('a', deny('a'));
  c.set('b', deny('b', 30_000));
  c.set('c', deny('c', 3_600_000));
  clock.advance(10_000);
  assert.equal(c.get('a'), undefined);
  assert.equal(c.get('b')?.kind, 'deny');
  clock.advance(50_000);
  assert.equal(c.get('b'), undefined);
  assert.equal(c.get('c'), undefined, 'a provider cannot pin an answer past maxTtl');
  assert.equal(c.counters.expired, 3);
});

test('ok/a TTL of 0 is not cached', () => {
  const c = new DecisionCache(settings, new FrozenClock());
  c.set('a', deny('a', 0));
  assert.equal(c.size, 0);
});

test('ok/least recently used goes first past maxEntries, counted as an eviction', () => {
  const c = new DecisionCache(settings, new FrozenClock());
  for (const k of ['a', 'b', 'c']) c.set(k, deny(k));
  assert.ok(c.get('a'));
  c.set('d', deny('d'));
  assert.equal(c.get('b'), undefined);
  assert.deepEqual(['a', 'c', 'd'].map((k) => (c.get(k) as { body: string } | undefined)?.body), ['a', 'c', 'd']);
  assert.equal(c.counters.evictions, 1);
  assert.equal(c.counters.entries, 3);
});

test('ok/bounded in bytes: large answers push out old ones; one larger than the whole cache is not kept', () => {
  const c = new DecisionCache({ ...settings, maxEntries: 1000, maxBytes: 10_000 }, new FrozenClock());
  for (let i = 0; i < 10; i++) c.set(`k${i}`, deny('x'.repeat(3_000)));
  assert.ok(c.counters.bytes <= 10_000, String(c.counters.bytes));
  assert.ok(c.size <= 3);
  c.set('huge', deny('y'.repeat(20_000)));
  assert.equal(c.get('huge'), undefined);
});

const provider = compileProvider({ name: 'p', envoyExtAuthzGrpc: { service: '127.0.0.1', port: 1 } }) as GrpcProvider;
const request: fc.Arbitrary<CheckInput> = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  target: fc.constantFrom('/', '/a', '/a?x=1'),
  authority: fc.constantFrom('h', 'g'),
  fields: fc.dictionary(fc.constantFrom('x-user', 'authorization', 'x-request-id'), fc.constantFrom('1', '2', 'a,b')),
  protocol: fc.constantFrom('HTTP/2' as const),
  sourcePrincipal: fc.option(fc.constantFrom('spiffe://td/ns/a/sa/x', 'spiffe://td/ns/a/sa/y'), { nil: undefined }),
  size: fc.constantFrom(-1, 0),
}, { requiredKeys: ['method', 'target', 'authority', 'fields', 'protocol', 'size'] });

test('ok/property: a cached answer is never served to a request that differs in any sent attribute', () => {
  fc.assert(
    fc.property(fc.array(request, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (requests, maxEntries) => {
      const clock = new FrozenClock();
      const cache = new DecisionCache({ ...settings, maxEntries }, clock);
      for (const r of requests) {
        const check = grpcCheckRequest(provider, r);
        const sent = canonicalJson(check);
        const key = checkKey('p', check);
        // The provider's answer names the check it was given, so a wrong hit shows.
        const served = cache.get(key) ?? deny(sent);
        if (cache.get(key) === undefined) cache.set(key, served);
        assert.equal((served as { body: string }).body, sent);
        clock.advance(100);
      }
    }),
    { numRuns: 300 },
  );
});
