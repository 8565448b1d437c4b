import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ActiveRequests, hashInputOf } from './traffic.js';

describe('ActiveRequests', () => {
  test('counts per endpoint and forgets an endpoint at zero; an extra end never goes negative', () => {
    const a = new ActiveRequests();
    a.begin('x');
    a.begin('x');
    a.begin('y');
    assert.equal(a.activeRequests('x'), 2);
    a.end('x');
    a.end('x');
    a.end('x');
    assert.equal(a.activeRequests('x'), 0);
    assert.equal(a.activeRequests('y'), 1);
  });
  test('property: after any sequence of balanced begin/end pairs every count is back to zero', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 50 }), (keys) => {
      const a = new ActiveRequests();
      for (const k of keys) a.begin(k);
      for (const k of keys.slice().reverse()) a.end(k);
      return ['a', 'b', 'c'].every((k) => a.activeRequests(k) === 0);
    }));
  });
});

describe('hashInputOf', () => {
  test('reads headers (repeated joined), cookies (first wins, quotes stripped), query parameters and the caller address', () => {
    const h = hashInputOf({ 'x-user': 'ann', cookie: 'a=1; b="two"; a=3', 'set-cookie': ['p=1', 'q=2'] }, '/p?k=v&k=w&e=', { address: '127.0.0.1', port: 5555 });
    assert.equal(h.header('x-user'), 'ann');
    assert.equal(h.header('set-cookie'), 'p=1,q=2');
    assert.equal(h.header('missing'), undefined);
    assert.equal(h.cookie('a'), '1');
    assert.equal(h.cookie('b'), 'two');
    assert.equal(h.cookie('zz'), undefined);
    assert.equal(h.query('k'), 'v');
    assert.equal(h.query('e'), '');
    assert.equal(h.query('none'), undefined);
    assert.equal(h.sourceIp, '127.0.0.1');
    assert.equal(h.downstreamAddress, '127.0.0.1:5555');
  });
  test('a hostile Cookie header is read in bounded time and only its first 256 pairs count', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `c${i}=${i}`).join('; ');
    const h = hashInputOf({ cookie: many }, '/', { address: undefined, port: undefined });
    assert.equal(h.cookie('c0'), '0');
    assert.equal(h.cookie('c255'), '255');
    assert.equal(h.cookie('c256'), undefined);
    assert.equal(h.sourceIp, '');
  });
  test('property: never throws on arbitrary cookie and path text', () => {
    fc.assert(fc.property(fc.string(), fc.string(), fc.string(), (cookie, path, name) => {
      const h = hashInputOf({ cookie }, path, { address: '::1', port: 1 });
      h.cookie(name);
      h.query(name);
      return true;
    }));
  });
});
