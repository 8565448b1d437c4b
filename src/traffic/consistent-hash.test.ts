import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HashKeySource } from './cluster-policy.js';
import { buildMaglev, buildRing, ConsistentHash, requestHash, type HashInput } from './consistent-hash.js';
import { hash53, hashHex } from './hash.js';
import { endpoints } from './testing/cluster-fixtures.js';

function input(over: { headers?: Record<string, string>; cookies?: Record<string, string>; query?: Record<string, string>; sourceIp?: string; downstreamAddress?: string } = {}): HashInput {
  return {
    header: (n) => over.headers?.[n],
    cookie: (n) => over.cookies?.[n],
    query: (n) => over.query?.[n],
    sourceIp: over.sourceIp ?? '10.1.2.3',
    downstreamAddress: over.downstreamAddress ?? '10.1.2.3:40000',
  };
}

const cookie = (extra: Partial<Extract<HashKeySource, { kind: 'cookie' }>> = {}): HashKeySource => ({ kind: 'cookie', name: 'affinity', path: undefined, ttlMs: undefined, attributes: [], ...extra });

describe('requestHash', () => {
  test('a header, a query parameter or the source address hash their value; absent keys give no hash', () => {
    assert.equal(requestHash({ kind: 'header', name: 'x-user' }, input({ headers: { 'x-user': 'alice' } })).hash, hash53('alice'));
    assert.equal(requestHash({ kind: 'header', name: 'x-user' }, input()).hash, undefined);
    assert.equal(requestHash({ kind: 'query', name: 'u' }, input({ query: { u: 'bob' } })).hash, hash53('bob'));
    assert.equal(requestHash({ kind: 'query', name: 'u' }, input()).hash, undefined);
    assert.equal(requestHash({ kind: 'source-ip' }, input({ sourceIp: '10.9.9.9' })).hash, hash53('10.9.9.9'));
    assert.equal(requestHash({ kind: 'source-ip' }, input({ sourceIp: '' })).hash, undefined);
    assert.equal(requestHash({ kind: 'none' }, input()).hash, undefined);
    assert.equal(requestHash({ kind: 'header', name: 'x-user' }, undefined).hash, undefined);
  });

  test('a present cookie hashes its value, quoted or not, and sets nothing', () => {
    const a = requestHash(cookie({ ttlMs: 60_000 }), input({ cookies: { affinity: '"abc"' } }));
    const b = requestHash(cookie({ ttlMs: 60_000 }), input({ cookies: { affinity: 'abc' } }));
    assert.equal(a.hash, hash53('abc'));
    assert.equal(b.hash, a.hash);
    assert.equal(a.cookie, undefined);
  });

  test('an absent cookie with a ttl is generated from the downstream connection, and the request hashes it', () => {
    const src = cookie({ ttlMs: 3_600_000, path: '/shop', attributes: [{ name: 'SameSite', value: 'Strict' }, { name: 'Secure' }] });
    const got = requestHash(src, input({ downstreamAddress: '10.1.2.3:40000' }));
    const value = hashHex(hash53('10.1.2.3:40000'));
    assert.deepEqual(got.cookie, { name: 'affinity', value, setCookie: `affinity="${value}"; Max-Age=3600; Path=/shop; HttpOnly; SameSite=Strict; Secure` });
    assert.equal(got.hash, hash53(value));
    // The client sends it back: same hash, nothing more to set.
    const next = requestHash(src, input({ cookies: { affinity: `"${value}"` }, downstreamAddress: '10.1.2.3:40001' }));
    assert.equal(next.hash, got.hash);
    assert.equal(next.cookie, undefined);
  });

  test('ttl 0 makes a session cookie (no Max-Age); no ttl generates nothing', () => {
    const session = requestHash(cookie({ ttlMs: 0 }), input());
    assert.ok(session.cookie !== undefined && !session.cookie.setCookie.includes('Max-Age'));
    assert.deepEqual(requestHash(cookie(), input()), { hash: undefined, cookie: undefined });
  });
});

describe('tables', () => {
  test('empty pools build empty tables', () => {
    assert.equal(buildRing([], 1024).points.length, 0);
    assert.ok(buildMaglev([], 251).every((i) => i === -1));
  });

  test('a table is built once per pool and a new pool gets its own', () => {
    const ch = new ConsistentHash({ kind: 'maglev', tableSize: 251 });
    const pool = endpoints(4);
    const ctx = { random: () => 0, avoid: undefined, load: undefined, hash: 42 };
    assert.equal(ch.built(pool), false);
    const first = ch.choose(pool, ctx);
    assert.equal(ch.built(pool), true);
    for (let i = 0; i < 20; i++) assert.equal(ch.choose(pool, ctx), first);
    const copy = [...pool];
    assert.equal(ch.built(copy), false);
    assert.equal(ch.choose(copy, ctx), first, 'the same endpoints give the same table');
  });

  test('the ring of a giant minimum stays at the cap', () => {
    const ring = buildRing(endpoints(3), 100_000_000);
    assert.ok(ring.points.length <= 1_048_576);
    assert.ok(ring.points.length >= 1_048_574);
  });

  test('hash53 is stable, in range and sensitive to every character and the seed', () => {
    assert.equal(hash53('abc'), hash53('abc'));
    assert.notEqual(hash53('abc'), hash53('abd'));
    assert.notEqual(hash53('abc'), hash53('abc', 1));
    for (const s of ['', 'a', 'ééé', 'x'.repeat(1000)]) {
      const h = hash53(s);
      assert.ok(Number.isSafeInteger(h) && h >= 0);
      assert.equal(hashHex(h).length, 16);
    }
  });
});
