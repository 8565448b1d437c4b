import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from './circuit-breaker.js';
import { resolveConnectionPool, UNLIMITED } from './cluster-policy.js';

test('each resource admits up to its limit, then overflows and counts it; a release makes room again', () => {
  const cb = new CircuitBreaker(resolveConnectionPool({ tcp: { maxConnections: 2 }, http: { http1MaxPendingRequests: 1, http2MaxRequests: 3, maxRetries: 1 } }));
  assert.deepEqual([cb.tryAcquire('connection'), cb.tryAcquire('connection'), cb.tryAcquire('connection')], ['ok', 'ok', 'overflow']);
  assert.deepEqual([cb.tryAcquire('pending'), cb.tryAcquire('pending')], ['ok', 'overflow']);
  assert.deepEqual([cb.tryAcquire('request'), cb.tryAcquire('request'), cb.tryAcquire('request'), cb.tryAcquire('request')], ['ok', 'ok', 'ok', 'overflow']);
  assert.deepEqual([cb.tryAcquire('retry'), cb.tryAcquire('retry')], ['ok', 'overflow']);
  assert.deepEqual(cb.stats, { active: { connection: 2, pending: 1, request: 3, retry: 1 }, overflows: { connection: 1, pending: 1, request: 1, retry: 1 } });
  cb.release('retry');
  assert.equal(cb.remaining('retry'), 1);
  assert.equal(cb.tryAcquire('retry'), 'ok');
});

test('a release without an acquire never drives the count below zero or lifts the limit', () => {
  const cb = new CircuitBreaker(resolveConnectionPool({ http: { maxRetries: 1 } }));
  cb.release('retry');
  cb.release('retry');
  assert.equal(cb.remaining('retry'), 1);
  assert.deepEqual([cb.tryAcquire('retry'), cb.tryAcquire('retry')], ['ok', 'overflow']);
});

test('defaults are Istio\'s: effectively unlimited, 10 s connect timeout, 1 h idle timeout, unlimited requests per connection', () => {
  const cb = new CircuitBreaker(resolveConnectionPool(undefined));
  assert.equal(cb.remaining('request'), UNLIMITED);
  for (let i = 0; i < 10_000; i++) assert.equal(cb.tryAcquire('request'), 'ok');
  assert.equal(cb.connectTimeoutMs, 10_000);
  assert.equal(cb.idleTimeoutMs, 3_600_000);
  assert.equal(cb.maxRequestsPerConnection, 0);
  assert.equal(new CircuitBreaker(resolveConnectionPool({ http: { maxRequestsPerConnection: 1, idleTimeout: '30s' }, tcp: { idleTimeout: '5s' } })).idleTimeoutMs, 30_000);
  assert.equal(new CircuitBreaker(resolveConnectionPool({ tcp: { idleTimeout: '5s', maxConnectionDuration: '1m' } })).limits.maxConnectionDurationMs, 60_000);
});
