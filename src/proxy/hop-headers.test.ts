import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectionListed, distinctFields, h1ToH2Headers, h2ToH1Headers } from './hop-headers.js';

describe('connectionListed', () => {
  const cases: { name: string; input: string | string[] | undefined; expect: string[] | undefined }[] = [
    { name: 'ok/absent', input: undefined, expect: undefined },
    { name: 'ok/keep-alive alone lists nothing', input: 'keep-alive', expect: undefined },
    { name: 'ok/close alone lists nothing', input: 'Close', expect: undefined },
    { name: 'ok/names are lowercased and trimmed', input: 'X-Foo , keep-alive,close', expect: ['x-foo', 'keep-alive'] },
    { name: 'ok/several header lines', input: ['x-a', 'X-B'], expect: ['x-a', 'x-b'] },
    { name: 'ok/empty tokens are skipped', input: ' , ,x-a,', expect: ['x-a'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = connectionListed(c.input);
      assert.deepEqual(got === undefined ? undefined : [...got], c.expect);
    });
  }
});

describe('h1ToH2Headers', () => {
  test('drops hop-by-hop fields and those Connection lists, keeps end-to-end ones', () => {
    const out = h1ToH2Headers(
      {
        host: 'a.b',
        connection: 'x-secret, keep-alive',
        'x-secret': '1',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        'proxy-authorization': 'Basic x',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        te: 'gzip, trailers',
        'http2-settings': 'AAA',
        'x-kept': 'yes',
        'set-cookie': ['a=1', 'b=2'],
      },
      { ':method': 'GET' },
    );
    assert.deepEqual(out, { ':method': 'GET', 'x-kept': 'yes', 'set-cookie': ['a=1', 'b=2'] });
  });

  test('keeps TE only as "trailers"', () => {
    assert.deepEqual(h1ToH2Headers({ te: ' Trailers ' }, {}), { te: 'trailers' });
  });
});

describe('h2ToH1Headers', () => {
  test('drops pseudo-headers and XFCC when asked, flattens multi-valued fields', () => {
    const out = h2ToH1Headers(
      { ':path': '/', ':authority': 'a.b', 'x-forwarded-client-cert': 'forged', 'set-cookie': ['a=1', 'b=2'], 'x-a': '1', te: 'trailers' },
      [],
      true,
    );
    assert.deepEqual(out, ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-a', '1', 'te', 'trailers']);
  });

  test('keeps XFCC when not asked to drop it, drops proxy-authenticate on the proxy hop', () => {
    const out = h2ToH1Headers({ ':status': '200', 'x-forwarded-client-cert': 'v', 'proxy-authenticate': 'Basic', connection: 'close' }, [], false);
    assert.deepEqual(out, ['x-forwarded-client-cert', 'v']);
  });
});

test('distinctFields splits the repeats Node joined back into their values, and leaves the rest', () => {
  const distinct = { 'x-role': ['user', 'admin'], 'x-one': ['a, b'], cookie: ['a=1', 'b=2'], authorization: ['A', 'B'] };
  const headers = { 'x-role': 'user, admin', 'x-one': 'a, b', cookie: 'a=1; b=2', authorization: 'A' };
  assert.deepEqual(distinctFields(headers, () => distinct), { 'x-role': ['user', 'admin'], 'x-one': 'a, b', cookie: 'a=1; b=2', authorization: 'A' });
  const plain = { host: 'a' };
  assert.equal(distinctFields(plain, () => assert.fail('no value holds ", ": headersDistinct is not built')), plain);
});
