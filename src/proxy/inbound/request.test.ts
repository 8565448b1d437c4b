import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { readH1Request, readH2Request, toAppRequest, type ReadOptions } from './request.js';

const OPTS: ReadOptions = { jwtOutputs: ['x-jwt-sub'], xfcc: 'By=spiffe://td/ns/a/sa/b;Hash=00;URI=spiffe://td/ns/c/sa/d' };
const BASE = [':method', 'GET', ':path', '/p', ':scheme', 'http'];

describe('the authority of an HTTP/2 request (RFC 9113 §8.3.1)', () => {
  const cases: ReadonlyArray<readonly [string, readonly string[], string | RegExp]> = [
    ['ok/:authority alone', [':authority', 'a.b:1'], 'a.b:1'],
    ['ok/host when :authority is absent', ['host', 'a.b:1'], 'a.b:1'],
    ['ok/both, naming the same host in another case', [':authority', 'a.b', 'host', 'A.B'], 'a.b'],
    ['ok/both, one with the default port', [':authority', 'a.b', 'host', 'a.b:80'], 'a.b'],
    ['fail/both, differing', [':authority', 'a.b', 'host', 'evil'], /:authority and host differ/],
    ['fail/two host headers', ['host', 'a.b', 'host', 'a.b'], /more than one host/],
    ['fail/neither', [], /no authority/],
    ['fail/an empty :authority', [':authority', ''], /no authority/],
  ];
  for (const [name, extra, expected] of cases) {
    test(name, () => {
      const r = readH2Request([...BASE, ...extra], OPTS);
      if (typeof expected === 'string') assert.equal(r.ok && r.request.authority, expected);
      else assert.match(r.ok ? '' : r.reason, expected);
    });
  }
});

describe('the fields of a request', () => {
  test('ok/every value of a repeated field is kept, in order; cookies are one field', () => {
    const r = readH2Request([...BASE, ':authority', 'a', 'x-role', 'user', 'x-role', 'admin', 'cookie', 'a=1', 'cookie', 'b=2', 'authorization', 'A', 'authorization', 'B'], OPTS);
    assert.ok(r.ok);
    assert.deepEqual(r.request.fields['x-role'], ['user', 'admin']);
    assert.deepEqual(r.request.fields.authorization, ['A', 'B']);
    assert.equal(r.request.fields.cookie, 'a=1; b=2');
  });

  test('fail/the client\'s copies of the headers the sidecar owns are dropped; the sidecar adds its XFCC', () => {
    const r = readH2Request([...BASE, ':authority', 'a', 'x-forwarded-client-cert', 'By=evil', 'x-weft-x', '1', 'x-envoy-original-path', '/admin', 'x-jwt-sub', 'admin', 'x-other', 'kept'], OPTS);
    assert.ok(r.ok);
    assert.deepEqual({ ...r.request.fields }, { 'x-forwarded-client-cert': OPTS.xfcc, 'x-other': 'kept' });
    const plain = readH2Request([...BASE, ':authority', 'a', 'x-forwarded-client-cert', 'By=evil'], { jwtOutputs: [] });
    assert.ok(plain.ok);
    assert.equal(plain.request.fields['x-forwarded-client-cert'], undefined);
  });

  test('ok/hop-by-hop fields are not the request\'s; te: trailers is', () => {
    const r = readH2Request([...BASE, ':authority', 'a', 'connection', 'close', 'keep-alive', '1', 'te', 'trailers', 'upgrade', 'h2c'], OPTS);
    assert.ok(r.ok);
    assert.deepEqual(Object.keys(r.request.fields).sort(), ['te', 'x-forwarded-client-cert']);
  });

  test('ok/the app receives every value, and Host is the authority', () => {
    const r = readH2Request([...BASE, ':authority', 'a.b', 'x-role', 'user', 'x-role', 'admin'], { jwtOutputs: [] });
    assert.ok(r.ok);
    assert.deepEqual(toAppRequest(r.request), { method: 'GET', path: '/p', headers: ['x-role', 'user', 'x-role', 'admin', 'host', 'a.b'] });
  });
});

describe('an HTTP/1.1 request (RFC 9112 §3.2)', () => {
  const h1 = (url: string, raw: Record<string, string[]>): IncomingMessage =>
    ({ method: 'GET', url, headers: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.join(', ')])), headersDistinct: raw }) as unknown as IncomingMessage;
  const cases: ReadonlyArray<readonly [string, IncomingMessage, { authority: string; target: string } | RegExp]> = [
    ['ok/origin-form and Host', h1('/p?q', { host: ['a.b'] }), { authority: 'a.b', target: '/p?q' }],
    ['ok/absolute-form: the URI wins over Host', h1('http://a.b:1/p', { host: ['evil'] }), { authority: 'a.b:1', target: '/p' }],
    ['ok/absolute-form without a path', h1('http://a.b?q', { host: ['a.b'] }), { authority: 'a.b', target: '/?q' }],
    ['fail/absolute-form with user information', h1('http://u@a.b/p', { host: ['a.b'] }), /user information/],
    ['fail/two Host fields', h1('/p', { host: ['a.b', 'evil'] }), /more than one host/],
    ['fail/no Host', h1('/p', {}), /no authority/],
  ];
  for (const [name, req, expected] of cases) {
    test(name, () => {
      const r = readH1Request(req, { jwtOutputs: [] });
      if (expected instanceof RegExp) assert.match(r.ok ? '' : r.reason, expected);
      else assert.deepEqual(r.ok ? { authority: r.request.authority, target: r.request.target } : r.reason, expected);
    });
  }

  test('ok/fields the Connection header lists are hop-by-hop', () => {
    const r = readH1Request(h1('/p', { host: ['a'], connection: ['x-hop'], 'x-hop': ['1'], 'x-end': ['2', '3'] }), { jwtOutputs: [] });
    assert.ok(r.ok);
    assert.deepEqual({ ...r.request.fields }, { 'x-end': ['2', '3'] });
  });
});

describe('field values an HTTP/1.1 app would read differently (RFC 9113 §8.2.1)', () => {
  const malformed: ReadonlyArray<readonly [string, string]> = [
    ['leading space', ' admin'],
    ['trailing space', 'admin '],
    ['leading tab', '\tadmin'],
    ['trailing tab', 'admin\t'],
    ['a NUL', 'ad\u0000min'],
    ['a line feed', 'user\nx-role: admin'],
    ['a carriage return', 'user\radmin'],
    ['DEL', 'admin\u007f'],
  ];
  for (const [what, value] of malformed) {
    test(`fail/${what} in a field value is a malformed request`, () => {
      const r = readH2Request([...BASE, ':authority', 'a', 'x-role', value], OPTS);
      assert.match(r.ok ? '' : r.reason, /white space or holds a control character/);
    });
    test(`fail/${what} in a pseudo-header value is a malformed request`, () => {
      const r = readH2Request([...BASE, ':authority', value], OPTS);
      assert.equal(r.ok, false);
    });
  }
  test('ok/white space inside a value, and an empty value, are fine', () => {
    const r = readH2Request([...BASE, ':authority', 'a', 'x-role', 'user, admin', 'x-empty', ''], OPTS);
    assert.ok(r.ok);
    assert.deepEqual(r.request.fields['x-role'], 'user, admin');
  });
});
