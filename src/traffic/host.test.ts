import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostKeyIn, meshNameOf, parseAuthority, wildcardCovers } from './host.js';

describe('parseAuthority', () => {
  const ok: [string, string, number | undefined][] = [
    ['reviews', 'reviews', undefined],
    ['Reviews.Default:9080', 'reviews.default', 9080],
    ['reviews.default.svc.cluster.local.', 'reviews.default.svc.cluster.local', undefined],
    ['REVIEWS.default.:80', 'reviews.default', 80],
    ['[::1]:8080', '::1', 8080],
    ['[2001:DB8::0001]', '2001:db8::1', undefined],
    ['2001:db8::1', '2001:db8::1', undefined],
    ['10.0.0.1:443', '10.0.0.1', 443],
    ['my_host.example.com', 'my_host.example.com', undefined],
  ];
  for (const [input, host, port] of ok) {
    test(`ok/${input}`, () => {
      const p = parseAuthority(input);
      assert.notEqual(typeof p, 'string', String(p));
      assert.equal((p as { host: string }).host, host);
      assert.equal((p as { port?: number }).port, port);
    });
  }
  const fail: [string, RegExp][] = [
    ['', /empty/],
    ['a'.repeat(1025), /longer than 1024/],
    ['reviews:', /not a number/],
    ['reviews:0', /outside 1-65535/],
    ['reviews:65536', /outside 1-65535/],
    ['reviews:80x', /not a number/],
    ['[::1', /no closing/],
    ['[::1]x', /unexpected text/],
    ['[zz::1]:80', /not an IPv6 address/],
    ['a..b', /not a host name/],
    ['a b', /not a host name/],
    ['.', /not a host name/],
    ['-a.b', /not a host name/],
    ['a:b:c', /more than one/],
    ['user@host', /not a host name/],
    ['\u212aelvin.default', /not a host name/],
    ['\u0130stio.default', /not a host name/],
    [`${'a'.repeat(64)}.com`, /not a host name/],
  ];
  for (const [input, reason] of fail) {
    test(`fail/${JSON.stringify(input.slice(0, 30))}`, () => {
      const p = parseAuthority(input);
      assert.equal(typeof p, 'string');
      assert.match(p as string, reason);
    });
  }
  test('an IPv4 literal is flagged as an IP', () => {
    assert.equal((parseAuthority('10.0.0.1') as { ip: boolean }).ip, true);
    assert.equal((parseAuthority('10.0.0.300') as { ip: boolean }).ip, false);
  });
});

describe('meshNameOf', () => {
  test('reads name.namespace with or without .svc[.domain]', () => {
    assert.deepEqual(meshNameOf('reviews.default', 'cluster.local'), { name: 'reviews', namespace: 'default' });
    assert.deepEqual(meshNameOf('reviews.default.svc', 'cluster.local'), { name: 'reviews', namespace: 'default' });
    assert.deepEqual(meshNameOf('reviews.default.svc.cluster.local', 'cluster.local'), { name: 'reviews', namespace: 'default' });
    assert.deepEqual(meshNameOf('reviews.default.svc.corp.local', 'corp.local'), { name: 'reviews', namespace: 'default' });
  });
  test('refuses other shapes', () => {
    assert.equal(meshNameOf('reviews', 'cluster.local'), undefined);
    assert.equal(meshNameOf('api.example.com', 'cluster.local'), undefined);
    assert.equal(meshNameOf('a_b.default', 'cluster.local'), undefined);
    assert.equal(meshNameOf('reviews.default.svc.other.local', 'cluster.local'), undefined);
  });
});

describe('hostKeyIn', () => {
  test('a short name is a service of the given namespace', () => {
    assert.equal(hostKeyIn('Reviews', 'shop', 'cluster.local'), 'reviews.shop.svc.cluster.local');
  });
  test('a mesh-shaped name is fully qualified', () => {
    assert.equal(hostKeyIn('reviews.default', 'shop', 'cluster.local'), 'reviews.default.svc.cluster.local');
    assert.equal(hostKeyIn('reviews.default.svc.', 'shop', 'cluster.local'), 'reviews.default.svc.cluster.local');
  });
  test('a name a ServiceEntry declares stays itself', () => {
    assert.equal(hostKeyIn('example.com', 'shop', 'cluster.local', (h) => h === 'example.com'), 'example.com');
    assert.equal(hostKeyIn('example.com', 'shop', 'cluster.local'), 'example.com.svc.cluster.local');
  });
  test('wildcards and other names are kept', () => {
    assert.equal(hostKeyIn('*.Example.com', 'shop', 'cluster.local'), '*.example.com');
    assert.equal(hostKeyIn('api.example.com', 'shop', 'cluster.local'), 'api.example.com');
  });
});

test('wildcardCovers needs at least one label before the suffix', () => {
  assert.equal(wildcardCovers('*.example.com', 'a.example.com'), true);
  assert.equal(wildcardCovers('*.example.com', 'a.b.example.com'), true);
  assert.equal(wildcardCovers('*.example.com', 'example.com'), false);
  assert.equal(wildcardCovers('*.example.com', '.example.com'), false);
  assert.equal(wildcardCovers('*', 'anything'), true);
  assert.equal(wildcardCovers('api.example.com', 'api.example.com'), false);
});
