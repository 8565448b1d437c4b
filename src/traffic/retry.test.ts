import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffMs, compileRetry, DEFAULT_RETRY_POLICY, retryDecision, type RetryOutcome } from './retry.js';

describe('compileRetry', () => {
  test("no retries field: Istio's default", () => {
    const p = compileRetry(undefined);
    assert.equal(p.attempts, 2);
    assert.deepEqual([...p.retryOn].sort(), ['cancelled', 'connect-failure', 'refused-stream', 'retriable-status-codes', 'unavailable']);
    assert.equal(p.retriableStatusCodes.size, 0);
    assert.equal(p.backoffBaseMs, 25);
    assert.equal(p.retryIgnorePreviousHosts, true);
  });
  test('attempts 0 or unset disables', () => {
    assert.equal(compileRetry({ attempts: 0 }).attempts, 0);
    assert.equal(compileRetry({ retryOn: '5xx' }).attempts, 0);
  });
  test('retryOn tokens; bare integers become retriable status codes', () => {
    const p = compileRetry({ attempts: 3, retryOn: ' 5xx , 409,gateway-error,deadline-exceeded,nonsense', perTryTimeout: '2s', backoff: '100ms', retryIgnorePreviousHosts: false });
    assert.deepEqual([...p.retryOn].sort(), ['5xx', 'deadline-exceeded', 'gateway-error', 'retriable-status-codes']);
    assert.deepEqual([...p.retriableStatusCodes], [409]);
    assert.deepEqual(p.ignoredTokens, ['nonsense']);
    assert.equal(p.perTryTimeoutMs, 2000);
    assert.equal(p.backoffBaseMs, 100);
    assert.equal(p.backoffMaxMs, 1000);
    assert.equal(p.retryIgnorePreviousHosts, false);
  });
  test('an empty retryOn keeps the default conditions', () => {
    assert.deepEqual(compileRetry({ attempts: 5, retryOn: '' }).retryOn, DEFAULT_RETRY_POLICY.retryOn);
  });
});

describe('retryDecision', () => {
  const cases: [string, string, RetryOutcome, boolean, string?][] = [
    ['default', 'connect failure', { kind: 'connect-failure' }, true, 'connect-failure'],
    ['default', 'refused stream', { kind: 'refused-stream' }, true, 'refused-stream'],
    ['default', 'reset after the request', { kind: 'reset' }, false],
    ['default', 'upstream 503', { kind: 'status', status: 503 }, false],
    ['default', 'grpc UNAVAILABLE', { kind: 'status', status: 200, grpcStatus: 'UNAVAILABLE' }, true, 'unavailable'],
    ['default', 'grpc INTERNAL', { kind: 'status', status: 200, grpcStatus: 'INTERNAL' }, false],
    ['5xx', 'upstream 500', { kind: 'status', status: 500 }, true, '5xx'],
    ['5xx', 'a reset counts as a 5xx', { kind: 'reset' }, true, '5xx'],
    ['5xx', 'a per-try timeout', { kind: 'timeout' }, true, '5xx'],
    ['5xx', 'upstream 404', { kind: 'status', status: 404 }, false],
    ['gateway-error', 'upstream 502', { kind: 'status', status: 502 }, true, 'gateway-error'],
    ['gateway-error', 'upstream 500', { kind: 'status', status: 500 }, false],
    ['retriable-4xx', '409', { kind: 'status', status: 409 }, true, 'retriable-4xx'],
    ['503', 'a real 503', { kind: 'status', status: 503 }, true, 'retriable-status-codes'],
    ['503', 'a reset is not a 503', { kind: 'reset' }, false],
    ['reset-before-request', 'reset before the request', { kind: 'reset', beforeRequest: true }, true, 'reset-before-request'],
    ['reset-before-request', 'reset after', { kind: 'reset' }, false],
  ];
  for (const [retryOn, name, outcome, retry, reason] of cases) {
    test(`${retry ? 'ok' : 'fail'}/${retryOn}: ${name}`, () => {
      const p = retryOn === 'default' ? DEFAULT_RETRY_POLICY : compileRetry({ attempts: 2, retryOn });
      const v = retryDecision(p, outcome, 0);
      assert.equal(v.retry, retry, v.reason);
      if (reason !== undefined) assert.equal(v.reason, reason);
      else assert.match(v.reason, /retryOn does not cover/);
    });
  }
  test('stops at the attempt limit; disabled retries never retry', () => {
    assert.equal(retryDecision(DEFAULT_RETRY_POLICY, { kind: 'connect-failure' }, 1).retry, true);
    assert.deepEqual(retryDecision(DEFAULT_RETRY_POLICY, { kind: 'connect-failure' }, 2), { retry: false, reason: 'the retry limit (2) is reached' });
    assert.deepEqual(retryDecision(compileRetry({ attempts: 0 }), { kind: 'connect-failure' }, 0), { retry: false, reason: 'retries are disabled' });
  });
});

describe('backoffMs', () => {
  test('full jitter under (2^n - 1) x base, capped at 10 x base', () => {
    const p = DEFAULT_RETRY_POLICY;
    assert.equal(backoffMs(p, 1, () => 0), 0);
    assert.equal(backoffMs(p, 1, () => 0.999), 24);
    assert.equal(backoffMs(p, 2, () => 0.5), 37);
    assert.equal(backoffMs(p, 3, () => 0.999), 174);
    assert.equal(backoffMs(p, 10, () => 0.999), 250);
    assert.equal(backoffMs(p, 1000, () => 0.999), 250);
  });
  test('a broken random source cannot leave the range', () => {
    for (const r of [NaN, -1, 1, 5, Infinity]) {
      const v = backoffMs(DEFAULT_RETRY_POLICY, 2, () => r);
      assert.ok(v >= 0 && v < 75, String(v));
    }
  });
});
