import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { OutlierDetection } from '../config/generated/types.js';
import { resolveOutlierDetection } from './cluster-policy.js';
import { OutlierDetector, outcomeOfStatus, type Outcome } from './outlier.js';

function detector(od: OutlierDetection, hosts = 10): OutlierDetector {
  const d = new OutlierDetector(resolveOutlierDetection(od)!);
  d.syncHosts(Array.from({ length: hosts }, (_, i) => `h${i}`));
  return d;
}

function repeat(d: OutlierDetector, key: string, outcome: Outcome, times: number, nowMs: number) {
  let last;
  for (let i = 0; i < times; i++) last = d.record(key, outcome, nowMs);
  return last;
}

describe('outcomeOfStatus', () => {
  test('502, 503 and 504 are gateway errors, other 5xx are 5xx, the rest success', () => {
    assert.deepEqual([200, 404, 500, 501, 502, 503, 504, 599].map((s) => outcomeOfStatus(s)), ['success', 'success', '5xx', '5xx', 'gateway-error', 'gateway-error', 'gateway-error', '5xx']);
  });

  test('outlierDetectionHttpErrorCodes redefines the errors', () => {
    const p = resolveOutlierDetection({ outlierDetectionHttpErrorCodes: [429, 503] })!;
    assert.deepEqual([429, 500, 503, 200].map((s) => outcomeOfStatus(s, p)), ['5xx', 'success', 'gateway-error', 'success']);
  });
});

describe('OutlierDetector', () => {
  test('ejects after consecutive5xxErrors in a row; a success in between starts over', () => {
    const d = detector({ consecutive5xxErrors: 3, maxEjectionPercent: 100 });
    repeat(d, 'h0', '5xx', 2, 0);
    d.record('h0', 'success', 0);
    assert.equal(repeat(d, 'h0', '5xx', 2, 0), undefined);
    assert.equal(d.isEjected('h0', 0), false);
    assert.equal(d.record('h0', '5xx', 0), 'consecutive-5xx');
    assert.equal(d.isEjected('h0', 0), true);
    assert.deepEqual(d.stats, { ejectionsTotal: 1, ejectionsActive: 1, ejectionsOverflow: 0, ejectionsByReason: { 'consecutive-5xx': 1, 'consecutive-gateway-errors': 0, 'consecutive-local-origin-failures': 0 } });
  });

  test('consecutiveGatewayErrors counts 502-504 and connect failures; a plain 500 breaks the gateway run', () => {
    const d = detector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 });
    d.record('h1', 'gateway-error', 0);
    d.record('h1', '5xx', 0);
    assert.equal(d.record('h1', 'gateway-error', 0), undefined);
    assert.equal(d.record('h1', 'local-origin-failure', 0), 'consecutive-gateway-errors');
  });

  test('consecutive5xxErrors 0 turns 5xx ejection off', () => {
    const d = detector({ consecutive5xxErrors: 0, maxEjectionPercent: 100 });
    assert.equal(repeat(d, 'h0', '5xx', 50, 0), undefined);
    assert.equal(repeat(d, 'h0', 'gateway-error', 50, 0), undefined);
  });

  test('with the local-origin split, connect failures count apart and only against consecutiveLocalOriginFailures', () => {
    const d = detector({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, consecutive5xxErrors: 2, maxEjectionPercent: 100 });
    d.record('h0', 'local-origin-failure', 0);
    d.record('h0', '5xx', 0);
    d.record('h0', 'local-origin-success', 0);
    assert.equal(d.record('h0', 'local-origin-failure', 0), undefined);
    assert.equal(d.record('h0', 'local-origin-failure', 0), 'consecutive-local-origin-failures');
    d.record('h1', '5xx', 0);
    assert.equal(d.record('h1', '5xx', 0), 'consecutive-5xx');
  });

  test('ejection lasts base × times ejected, un-ejected at the tick after; the count decays per healthy interval', () => {
    const d = detector({ consecutive5xxErrors: 1, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 100 });
    d.record('h0', '5xx', 0);
    assert.deepEqual(d.tick(29_999), []);
    assert.equal(d.isEjected('h0', 29_999), true);
    assert.deepEqual(d.tick(30_000), ['h0']);
    assert.equal(d.isEjected('h0', 30_000), false);
    d.record('h0', '5xx', 30_000); // second ejection: 60 s
    assert.deepEqual(d.tick(89_999), []);
    assert.deepEqual(d.tick(90_000), ['h0']);
    // Two healthy intervals bring the count from 2 to 0; the next ejection is 30 s again.
    d.tick(100_000);
    d.tick(110_000);
    d.record('h0', '5xx', 110_000);
    assert.deepEqual(d.tick(140_000), ['h0']);
  });

  test('the ejection time stops growing at Envoy\'s max_ejection_time (300 s)', () => {
    const d = detector({ consecutive5xxErrors: 1, baseEjectionTime: '100s', maxEjectionPercent: 100 });
    let now = 0;
    for (let i = 0; i < 6; i++) {
      d.record('h0', '5xx', now);
      now += 300_000;
      assert.deepEqual(d.tick(now), ['h0'], `ejection ${i + 1} is over after 300 s`);
    }
  });

  test('a stalled timer still lets an endpoint back one interval after its time', () => {
    const d = detector({ consecutive5xxErrors: 1, maxEjectionPercent: 100 });
    d.record('h0', '5xx', 0);
    assert.equal(d.isEjected('h0', 39_999), true);
    assert.equal(d.isEjected('h0', 40_000), false);
    assert.equal(d.nextExpiryMs, 40_000);
  });

  test('maxEjectionPercent caps ejections and counts the overflow; one endpoint may always go when above 0', () => {
    const d = detector({ consecutive5xxErrors: 1, maxEjectionPercent: 20 }, 10);
    for (let i = 0; i < 5; i++) d.record(`h${i}`, '5xx', 0);
    assert.equal(d.stats.ejectionsActive, 2);
    assert.equal(d.stats.ejectionsOverflow, 3);
    const small = detector({ consecutive5xxErrors: 1 }, 3); // default 10%
    small.record('h0', '5xx', 0);
    small.record('h1', '5xx', 0);
    assert.equal(small.stats.ejectionsActive, 1);
    const none = detector({ consecutive5xxErrors: 1, maxEjectionPercent: 0 }, 3);
    none.record('h0', '5xx', 0);
    assert.equal(none.stats.ejectionsActive, 0);
  });

  test('an endpoint that leaves the cluster takes its ejection with it', () => {
    const d = detector({ consecutive5xxErrors: 1, maxEjectionPercent: 100 }, 2);
    d.record('h0', '5xx', 0);
    const v = d.version;
    d.syncHosts(['h1']);
    assert.equal(d.stats.ejectionsActive, 0);
    assert.ok(d.version > v);
    assert.equal(d.isEjected('h0', 0), false);
  });

  test('property: never more ejected than the percentage allows, and always back once its time is up', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), host: fc.integer({ min: 0, max: 11 }), outcome: fc.constantFrom<Outcome>('success', '5xx', 'gateway-error', 'local-origin-failure', 'local-origin-success') }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 200 }), (n, pct, threshold, ops) => {
        const d = detector({ consecutive5xxErrors: threshold, consecutiveGatewayErrors: threshold, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: pct }, n);
        const cap = pct === 0 ? 0 : Math.max(1, Math.floor((n * pct) / 100));
        const ejectedAt = new Map<string, number>();
        let now = 0;
        for (const o of ops) {
          if (o.kind === 'advance') now += o.ms;
          else if (o.kind === 'tick') {
            for (const k of d.tick(now)) ejectedAt.delete(k);
            for (const [k, at] of ejectedAt) assert.ok(now - at < 300_000, `${k} ejected at ${at} is still out at ${now}`);
          } else if (o.host < n) {
            if (d.record(`h${o.host}`, o.outcome, now) !== undefined) ejectedAt.set(`h${o.host}`, now);
          }
          assert.ok(d.stats.ejectionsActive <= cap, `${d.stats.ejectionsActive} ejected of ${n} at ${pct}%`);
          assert.equal(d.stats.ejectionsActive, ejectedAt.size);
        }
        // Time passes beyond any ejection: one tick returns every endpoint.
        d.tick(now + 300_000);
        assert.equal(d.stats.ejectionsActive, 0);
        for (let i = 0; i < n; i++) assert.equal(d.isEjected(`h${i}`, now + 300_000), false);
      }),
      { seed: 20261207, numRuns: 300 },
    );
  });
});
