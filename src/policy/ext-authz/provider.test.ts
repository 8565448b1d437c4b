// MeshConfig providers compiled with Istio's defaults, and where weft dials them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpCheckRequest } from './check-request.js';
import { compileProvider, providerAddress, type HttpProvider } from './provider.js';

test('ok/Istio\'s defaults: timeout 600 s, statusOnError 403, failOpen false, no body, no cache', () => {
  const p = compileProvider({ name: 'a', envoyExtAuthzGrpc: { service: '127.0.0.1', port: 9191 } });
  assert.deepEqual([p.kind, p.timeoutMs, p.statusOnError, p.failOpen, p.body, p.cache, p.unusable], ['grpc', 600_000, 403, false, undefined, undefined, undefined]);
});

test('ok/configured values win; a cache gets its defaults and its default TTL never exceeds maxTtl', () => {
  const p = compileProvider({ name: 'a', envoyExtAuthzHttp: { service: 'localhost', port: 1, timeout: '250ms', statusOnError: '503', failOpen: true, cache: { defaultTtl: '1h', maxTtl: '1m' } } });
  assert.deepEqual([p.host, p.timeoutMs, p.statusOnError, p.failOpen], ['127.0.0.1', 250, 503, true]);
  assert.deepEqual(p.cache, { maxEntries: 10_000, maxBytes: 16 << 20, defaultTtlMs: 60_000, maxTtlMs: 60_000 });
});

test('fail/a host name is not dialed: the provider is unusable, with the reason', () => {
  assert.match(compileProvider({ name: 'a', envoyExtAuthzGrpc: { service: 'opa.foo.svc.cluster.local', port: 1 } }).unusable ?? '', /is a host name/);
  assert.deepEqual(providerAddress('foo/10.1.2.3'), { host: '10.1.2.3' });
  assert.deepEqual(providerAddress('[::1]'), { host: '::1' });
  assert.ok('unusable' in providerAddress('localhost.evil.example'));
});

test('ok/the HTTP check: prefix + path, host, authorization and content-length always, named headers any case, additional headers', () => {
  const p = compileProvider({ name: 'a', envoyExtAuthzHttp: { service: '127.0.0.1', port: 1, pathPrefix: '/check', includeRequestHeadersInCheck: ['X-User', 'x-tenant-*'], includeAdditionalHeadersInCheck: { 'x-from': 'weft' } } }) as HttpProvider;
  const check = httpCheckRequest(p, { method: 'PUT', target: '/a?b=1', authority: 'h:80', fields: { authorization: 'Bearer t', 'x-user': 'u', 'x-tenant-id': '7', 'x-other': 'no', cookie: 'c=1', 'transfer-encoding': 'chunked' }, protocol: 'HTTP/2', size: -1 });
  assert.equal(check.method, 'PUT');
  assert.equal(check.path, '/check/a?b=1');
  assert.deepEqual(check.headers, [['authorization', 'Bearer t'], ['content-length', '0'], ['host', 'h:80'], ['x-from', 'weft'], ['x-tenant-id', '7'], ['x-user', 'u']]);
});
