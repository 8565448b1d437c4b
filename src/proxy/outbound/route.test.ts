import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProxyError } from '../errors.js';
import type { Endpoint } from '../types.js';
import { parseTarget, RoundRobin, type Target } from './route.js';

const SUFFIX = '.svc.cluster.local';

describe('parseTarget', () => {
  const ok: { name: string; url: string; host?: string; expect: Target }[] = [
    { name: 'ok/origin form with SERVICE.NAMESPACE', url: '/a?b=1', host: 'details.default', expect: { service: 'details', namespace: 'default', authority: 'details.default', path: '/a?b=1' } },
    { name: 'ok/origin form with a port', url: '/', host: 'details.default:9080', expect: { service: 'details', namespace: 'default', authority: 'details.default:9080', path: '/' } },
    { name: 'ok/the cluster suffix is stripped', url: '/', host: 'details.prod.svc.cluster.local:80', expect: { service: 'details', namespace: 'prod', authority: 'details.prod.svc.cluster.local:80', path: '/' } },
    { name: 'ok/a trailing dot and uppercase are normalized', url: '/', host: 'Details.Default.', expect: { service: 'details', namespace: 'default', authority: 'Details.Default.', path: '/' } },
    { name: 'ok/absolute form wins over Host', url: 'http://reviews.default:9080/r/1?x', host: 'other.ns', expect: { service: 'reviews', namespace: 'default', authority: 'reviews.default:9080', path: '/r/1?x' } },
    { name: 'ok/absolute form without a path', url: 'http://reviews.default', expect: { service: 'reviews', namespace: 'default', authority: 'reviews.default', path: '/' } },
    { name: 'ok/absolute form with only a query', url: 'HTTP://reviews.default?q', expect: { service: 'reviews', namespace: 'default', authority: 'reviews.default', path: '/?q' } },
    { name: 'ok/absolute form with userinfo and a fragment', url: 'http://u:p@reviews.default/x#frag', expect: { service: 'reviews', namespace: 'default', authority: 'reviews.default', path: '/x' } },
  ];
  for (const c of ok) test(c.name, () => assert.deepEqual(parseTarget(c.url, c.host, SUFFIX), c.expect));

  const fail: { name: string; url: string; host?: string; code: string; message: string }[] = [
    { name: 'fail/no Host', url: '/', code: 'WEFT_PROXY_BAD_REQUEST', message: 'request has no Host header' },
    { name: 'fail/https needs CONNECT', url: 'https://a.b/', code: 'WEFT_PROXY_BAD_REQUEST', message: 'an https:// target is not proxied as a request: open a tunnel with CONNECT' },
    { name: 'fail/an asterisk target', url: '*', host: 'a.b', code: 'WEFT_PROXY_BAD_REQUEST', message: 'request target is neither a path nor an http:// URI' },
    { name: 'fail/an empty authority', url: 'http:///x', code: 'WEFT_PROXY_BAD_REQUEST', message: 'request URI has no host' },
    { name: 'fail/one label is no service', url: '/', host: 'localhost:8080', code: 'WEFT_PROXY_UNKNOWN_SERVICE', message: 'unknown service "localhost"' },
    { name: 'fail/three labels are no service', url: '/', host: 'www.example.com', code: 'WEFT_PROXY_UNKNOWN_SERVICE', message: 'unknown service "www.example.com"' },
    { name: 'fail/an IP address is no service', url: 'http://10.0.0.1:80/', code: 'WEFT_PROXY_UNKNOWN_SERVICE', message: 'unknown service "10.0.0.1"' },
    { name: 'fail/an IPv6 literal is no service', url: '/', host: '[::1]:80', code: 'WEFT_PROXY_UNKNOWN_SERVICE', message: 'unknown service "[::1]:80"' },
  ];
  for (const c of fail) {
    test(c.name, () => {
      assert.throws(
        () => parseTarget(c.url, c.host, SUFFIX),
        (err: unknown) => err instanceof ProxyError && err.code === c.code && err.reason === c.message,
      );
    });
  }
});

describe('RoundRobin', () => {
  const ep = (port: number): Endpoint => ({ address: '127.0.0.1', port, spiffeId: 'spiffe://td/ns/a/sa/b', labels: {} });

  test('cycles through the endpoints in order', () => {
    const rr = new RoundRobin();
    const entry = { endpoints: [ep(1), ep(2), ep(3)], identities: new Set<string>() };
    assert.deepEqual(Array.from({ length: 7 }, () => rr.pick(entry)!.port), [1, 2, 3, 1, 2, 3, 1]);
  });

  test('passes over endpoints to avoid, unless all are to be avoided', () => {
    const rr = new RoundRobin();
    const entry = { endpoints: [ep(1), ep(2), ep(3)], identities: new Set<string>() };
    assert.deepEqual(Array.from({ length: 4 }, () => rr.pick(entry, { avoids: (e) => e.port === 2 })!.port), [1, 3, 1, 3]);
    assert.equal(rr.pick(entry, { avoids: () => true })!.port, 1, 'the plain next one');
  });

  test('has nothing for a service without endpoints', () => {
    assert.equal(new RoundRobin().pick({ endpoints: [], identities: new Set() }), undefined);
  });
});
