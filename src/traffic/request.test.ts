import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_QUERY_PARAMS, parseQuery, RequestView } from './request.js';
import { req } from './testing/fixtures.js';

describe('parseQuery', () => {
  test('first value wins; a key without = has the empty value; + stays +', () => {
    assert.deepEqual([...parseQuery('?a=1&a=2&b&c=&d=x+y')], [['a', '1'], ['b', ''], ['c', ''], ['d', 'x+y']]);
  });
  test('percent-decoding applies to keys and values, bad escapes stay raw', () => {
    assert.deepEqual([...parseQuery('?k%20ey=v%2Fw&bad=%E0%A4%A')], [['k ey', 'v/w'], ['bad', '%E0%A4%A']]);
  });
  test(`only the first ${MAX_QUERY_PARAMS} parameters are read`, () => {
    const q = '?' + Array.from({ length: MAX_QUERY_PARAMS + 10 }, (_, i) => `p${i}=1`).join('&');
    const m = parseQuery(q);
    assert.equal(m.size, MAX_QUERY_PARAMS);
    assert.equal(m.has(`p${MAX_QUERY_PARAMS}`), false);
  });
  test('empty parts and a fragment are ignored', () => {
    assert.deepEqual([...parseQuery('?&&a=1&#frag=2')], [['a', '1']]);
    assert.equal(parseQuery('').size, 0);
  });
});

describe('RequestView', () => {
  test('splits the path from the query and drops a fragment', () => {
    const v = new RequestView(req('h', { path: '/a/b?x=1#f' }));
    assert.equal(v.pathOnly, '/a/b');
    assert.equal(v.queryString, '?x=1#f');
    assert.equal(v.query.get('x'), '1');
    assert.equal(new RequestView(req('h', { path: '/a#f?x' })).pathOnly, '/a');
  });
  test('a header repeated is read joined with commas; an absent one is undefined', () => {
    const v = new RequestView(req('h', { headers: { a: ['1', '2'], b: '3' } }));
    assert.equal(v.headerValue('a'), '1,2');
    assert.equal(v.headerValue('b'), '3');
    assert.equal(v.headerValue('c'), undefined);
  });
});
