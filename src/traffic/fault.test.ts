import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFault, faultDecision, perMillion } from './fault.js';
import { mirrorDecision } from './mirror.js';
import { seeded } from './testing/fixtures.js';

describe('compileFault', () => {
  test('an unset percentage is 0%: nothing fires', () => {
    const f = compileFault({ delay: { fixedDelay: '5s' }, abort: { httpStatus: 503 } })!;
    assert.deepEqual(f, { delay: { ms: 5000, perMillion: 0 }, abort: { httpStatus: 503, grpcStatus: undefined, perMillion: 0 } });
    assert.deepEqual(faultDecision(f, () => 0), { delayMs: undefined, abort: undefined });
  });
  test('percentages are fractions per million; the legacy int percent is read for delays', () => {
    assert.equal(perMillion({ value: 0.0001 }), 1);
    assert.equal(perMillion({ value: 100 }), 1_000_000);
    assert.equal(perMillion({ value: 250 }), 1_000_000);
    assert.equal(perMillion(undefined, 30), 300_000);
    assert.equal(perMillion({ value: Number.NaN }), 0);
    assert.equal(compileFault({ delay: { fixedDelay: '1s', percent: 50 } })!.delay!.perMillion, 500_000);
  });
  test('exponentialDelay and http2Error are dropped; an unknown grpc status too', () => {
    assert.equal(compileFault({ delay: { exponentialDelay: '1s', percentage: { value: 100 } } }), undefined);
    assert.equal(compileFault({ abort: { http2Error: 'x', percentage: { value: 100 } } }), undefined);
    assert.equal(compileFault({ abort: { grpcStatus: 'NOPE', percentage: { value: 100 } } }), undefined);
  });
});

describe('faultDecision', () => {
  test('100% always fires; grpc aborts carry the code', () => {
    const f = compileFault({ delay: { fixedDelay: '250ms', percentage: { value: 100 } }, abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 100 } } })!;
    assert.deepEqual(faultDecision(f, () => 0.99999), { delayMs: 250, abort: { grpcStatus: 'UNAVAILABLE', grpcCode: 14 } });
  });
  test('the draw decides at the percentage boundary', () => {
    const f = compileFault({ abort: { httpStatus: 500, percentage: { value: 10 } } })!;
    assert.deepEqual(faultDecision(f, () => 0.0999).abort, { httpStatus: 500 });
    assert.equal(faultDecision(f, () => 0.1).abort, undefined);
  });
  test('over many seeded draws the abort rate is near the percentage', () => {
    const f = compileFault({ abort: { httpStatus: 500, percentage: { value: 25 } } })!;
    const random = seeded(7);
    let n = 0;
    for (let i = 0; i < 20_000; i++) if (faultDecision(f, random).abort !== undefined) n++;
    assert.ok(n > 4_500 && n < 5_500, String(n));
  });
  test('no fault: nothing', () => {
    assert.deepEqual(faultDecision(undefined, () => 0), { delayMs: undefined, abort: undefined });
  });
});

describe('mirrorDecision', () => {
  test('100% mirrors always fire, others by draw', () => {
    const always = { host: 'a', subset: undefined, port: undefined, perMillion: 1_000_000 };
    const half = { host: 'b', subset: undefined, port: undefined, perMillion: 500_000 };
    assert.deepEqual(mirrorDecision([always, half], () => 0.7).map((m) => m.host), ['a']);
    assert.deepEqual(mirrorDecision([always, half], () => 0.2).map((m) => m.host), ['a', 'b']);
  });
});
