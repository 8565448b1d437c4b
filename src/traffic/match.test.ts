import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HTTPMatchRequest } from '../config/generated/types.js';
import { andMatches, compileMatch } from './match.js';
import { RequestView } from './request.js';
import { req } from './testing/fixtures.js';

const matches = (m: HTTPMatchRequest, over: Parameters<typeof req>[1] = {}) => {
  const c = compileMatch(m);
  assert.equal(c.error, undefined);
  return c.test(new RequestView(req('h', over)));
};

describe('uri', () => {
  test('exact, prefix and regex ignore the query', () => {
    assert.equal(matches({ uri: { exact: '/a' } }, { path: '/a?x=1' }), true);
    assert.equal(matches({ uri: { exact: '/a' } }, { path: '/a/' }), false);
    assert.equal(matches({ uri: { prefix: '/api' } }, { path: '/api/v1?q' }), true);
    assert.equal(matches({ uri: { prefix: '/api' } }, { path: '/API/v1' }), false);
    assert.equal(matches({ uri: { regex: '/v[0-9]+' } }, { path: '/v12?x' }), true);
  });
  test('a regex matches the whole path, not a part of it', () => {
    assert.equal(matches({ uri: { regex: '\\d+' } }, { path: '123' }), true);
    assert.equal(matches({ uri: { regex: '\\d+' } }, { path: 'a123' }), false);
    assert.equal(matches({ uri: { regex: 'a|b' } }, { path: 'ab' }), false);
  });
  test('ignoreUriCase folds exact and prefix, not regex', () => {
    assert.equal(matches({ uri: { exact: '/Login' }, ignoreUriCase: true }, { path: '/LOGIN' }), true);
    assert.equal(matches({ uri: { prefix: '/Api' }, ignoreUriCase: true }, { path: '/aPI/x' }), true);
    assert.equal(matches({ uri: { regex: '/api' }, ignoreUriCase: true }, { path: '/API' }), false);
  });
});

describe('method, scheme, authority', () => {
  test('are case-sensitive string matches', () => {
    assert.equal(matches({ method: { exact: 'GET' } }, { method: 'GET' }), true);
    assert.equal(matches({ method: { exact: 'GET' } }, { method: 'get' }), false);
    assert.equal(matches({ scheme: { exact: 'https' } }, { scheme: 'http' }), false);
    assert.equal(matches({ authority: { prefix: 'reviews' } }, { authority: 'reviews.default:9080' }), true);
    assert.equal(matches({ authority: { regex: 'reviews(:[0-9]+)?' } }, { authority: 'reviews:9080' }), true);
  });
});

describe('headers and withoutHeaders', () => {
  test('headers need the header; {} is presence', () => {
    assert.equal(matches({ headers: { 'end-user': { exact: 'jason' } } }, { headers: { 'end-user': 'jason' } }), true);
    assert.equal(matches({ headers: { 'end-user': { exact: 'jason' } } }, {}), false);
    assert.equal(matches({ headers: { 'x-canary': {} } }, { headers: { 'x-canary': '' } }), true);
    assert.equal(matches({ headers: { 'x-canary': {} } }, {}), false);
  });
  test('repeated values are joined with a comma', () => {
    assert.equal(matches({ headers: { 'x-v': { exact: 'a,b' } } }, { headers: { 'x-v': ['a', 'b'] } }), true);
    assert.equal(matches({ headers: { 'x-v': { exact: 'a' } } }, { headers: { 'x-v': ['a', 'b'] } }), false);
  });
  test('withoutHeaders passes when the header is missing or does not match', () => {
    assert.equal(matches({ withoutHeaders: { 'x-test': { exact: 'on' } } }, {}), true);
    assert.equal(matches({ withoutHeaders: { 'x-test': { exact: 'on' } } }, { headers: { 'x-test': 'off' } }), true);
    assert.equal(matches({ withoutHeaders: { 'x-test': { exact: 'on' } } }, { headers: { 'x-test': 'on' } }), false);
    assert.equal(matches({ withoutHeaders: { 'x-test': {} } }, { headers: { 'x-test': 'x' } }), false);
    assert.equal(matches({ withoutHeaders: { 'x-test': { exact: '' } } }, {}), true);
  });
  test('the keys uri, scheme, method and authority in a headers map are ignored', () => {
    assert.equal(matches({ headers: { method: { exact: 'POST' } } }, { method: 'GET' }), true);
  });
});

describe('queryParams', () => {
  test('exact, regex, and exact "" for a key without value', () => {
    assert.equal(matches({ queryParams: { v: { exact: '2' } } }, { path: '/?v=2' }), true);
    assert.equal(matches({ queryParams: { v: { exact: '2' } } }, { path: '/?v=22' }), false);
    assert.equal(matches({ queryParams: { id: { regex: '\\d+' } } }, { path: '/?id=a123' }), false);
    assert.equal(matches({ queryParams: { id: { regex: '\\d+' } } }, { path: '/?id=123' }), true);
    assert.equal(matches({ queryParams: { debug: { exact: '' } } }, { path: '/x?debug' }), true);
    assert.equal(matches({ queryParams: { debug: { exact: '' } } }, { path: '/x?debug=' }), true);
    assert.equal(matches({ queryParams: { debug: { exact: '' } } }, { path: '/x' }), false);
  });
  test('the first value of a repeated key is read, percent-decoded', () => {
    assert.equal(matches({ queryParams: { v: { exact: '1' } } }, { path: '/?v=1&v=2' }), true);
    assert.equal(matches({ queryParams: { v: { exact: '2' } } }, { path: '/?v=1&v=2' }), false);
    assert.equal(matches({ queryParams: { n: { exact: 'a b' } } }, { path: '/?n=a%20b' }), true);
    assert.equal(matches({ queryParams: { n: { exact: '%zz' } } }, { path: '/?n=%zz' }), true);
  });
});

describe('fields AND-ed', () => {
  test('every field must match', () => {
    const m = { uri: { prefix: '/api' }, method: { exact: 'POST' }, headers: { 'x-a': { exact: '1' } } };
    assert.equal(matches(m, { path: '/api', method: 'POST', headers: { 'x-a': '1' } }), true);
    assert.equal(matches(m, { path: '/api', method: 'GET', headers: { 'x-a': '1' } }), false);
    assert.equal(matches(m, { path: '/api', method: 'POST' }), false);
  });
});

describe('catch-all and errors', () => {
  test('prefix / and regex .* with nothing else are catch-alls; a port is not', () => {
    assert.equal(compileMatch({ uri: { prefix: '/' } }).catchAll, true);
    assert.equal(compileMatch({ uri: { regex: '.*' } }).catchAll, true);
    assert.equal(compileMatch({}).catchAll, true);
    assert.equal(compileMatch({ uri: { prefix: '/' }, port: 80 }).catchAll, false);
    assert.equal(compileMatch({ uri: { prefix: '/' }, headers: { a: {} } }).catchAll, false);
    assert.equal(compileMatch({ uri: { prefix: '/a' } }).catchAll, false);
  });
  test('a regex RE2 lacks is refused with the reason', () => {
    assert.match(compileMatch({ uri: { regex: '(a)\\1' } }).error!, /uri: regex .* backreferences .* not supported by RE2/);
    assert.match(compileMatch({ headers: { x: { regex: '(?=a)a' } } }).error!, /headers\.x: .*lookahead/);
    assert.match(compileMatch({ queryParams: { q: { regex: '(?<!a)b' } } }).error!, /queryParams\.q: .*lookbehind/);
    assert.match(compileMatch({ uri: { regex: '(' } }).error!, /does not compile/);
    assert.match(compileMatch({ uri: { regex: 'a'.repeat(1025) } }).error!, /exceeds the 1024-character cap/);
    assert.match(compileMatch({ uri: { regex: '' } }).error!, /empty regex/);
  });
  test('andMatches requires both blocks and keeps the inner URI form for rewrites', () => {
    const m = andMatches(compileMatch({ uri: { prefix: '/api' } }), compileMatch({ uri: { prefix: '/api/v1' }, name: 'v1' }));
    assert.deepEqual(m.uri, { form: 'prefix', value: '/api/v1' });
    assert.equal(m.name, 'v1');
    assert.equal(m.test(new RequestView(req('h', { path: '/api/v1/x' }))), true);
    assert.equal(m.test(new RequestView(req('h', { path: '/api/v2' }))), false);
    const ports = andMatches(compileMatch({ port: 80 }), compileMatch({ port: 81 }));
    assert.equal(ports.test(new RequestView(req('h'))), false);
  });
});
