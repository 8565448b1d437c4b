import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { FrozenClock } from '../lib/clock.js';
import { isWeftError } from '../lib/errors.js';
import { AgentError } from './errors.js';
import { withFirstContactRetry } from './first-contact.js';

const unreachable = () => new AgentError('WEFT_CONTROL_PLANE_UNREACHABLE', 'cannot reach the control plane at 127.0.0.1:9: ECONNREFUSED');
const grpcError = (code: status, details: string) => Object.assign(new Error(details), { code, details });

/** A clock that moves only when the retry loop sleeps, recording each wait. */
function harness(waitMs: number) {
  const clock = new FrozenClock();
  const waits: number[] = [];
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  return {
    clock,
    waits,
    logs,
    opts: {
      waitMs,
      address: '127.0.0.1:9',
      clock,
      sleep: async (ms: number) => {
        waits.push(ms);
        clock.advance(ms);
      },
      log: (_level: string, event: string, fields: Record<string, unknown>) => logs.push({ event, fields }),
    },
  };
}

describe('first contact with a control plane that is not there yet', () => {
  test('ok/retries an unreachable or unavailable control plane until it answers, logging each attempt', async () => {
    const h = harness(180_000);
    const failures = [unreachable(), grpcError(status.UNAVAILABLE, 'No connection established'), grpcError(status.DEADLINE_EXCEEDED, 'deadline'), unreachable()];
    let calls = 0;
    const result = await withFirstContactRetry(async () => {
      calls++;
      const next = failures.shift();
      if (next) throw next;
      return 'svid';
    }, h.opts);
    assert.equal(result, 'svid');
    assert.equal(calls, 5);
    assert.deepEqual(h.logs.map((l) => l.event), ['control_plane.unreachable', 'control_plane.unreachable', 'control_plane.unreachable', 'control_plane.unreachable', 'control_plane.reached']);
    assert.deepEqual(h.logs.slice(0, 4).map((l) => l.fields.attempt), [1, 2, 3, 4]);
  });

  test('ok/waits grow exponentially with jitter, stay under the cap and never pass the deadline', async () => {
    const h = harness(60_000);
    await assert.rejects(withFirstContactRetry(async () => Promise.reject(unreachable()), h.opts));
    const caps = h.waits.map((_, i) => Math.min(5_000, 200 * 2 ** i));
    h.waits.forEach((w, i) => assert.ok(w >= 1 && w <= caps[i]!, `wait ${i}: ${w} > ${caps[i]}`));
    assert.equal(h.waits.reduce((a, b) => a + b, 0), 60_000, 'the last wait ends exactly at the deadline');
    assert.ok(h.waits.length >= 12, `only ${h.waits.length} attempts in a minute`);
  });

  test('fail/gives up after the bound with the last reason and the flag to change it', async () => {
    const h = harness(2_000);
    const err = await withFirstContactRetry(async () => Promise.reject(unreachable()), h.opts).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(isWeftError(err, 'WEFT_CONTROL_PLANE_UNREACHABLE'));
    assert.match((err as Error).message, /^gave up on the control plane at 127\.0\.0\.1:9 after \d+ attempts over 2 s \(--wait-for-control-plane\): cannot reach the control plane at 127\.0\.0\.1:9: ECONNREFUSED/);
  });

  test('fail/a bound of 0 tries exactly once', async () => {
    const h = harness(0);
    let calls = 0;
    await assert.rejects(
      withFirstContactRetry(async () => {
        calls++;
        throw unreachable();
      }, h.opts),
      /after 1 attempt over 0 s/,
    );
    assert.equal(calls, 1);
    assert.deepEqual(h.waits, []);
  });

  const refusals: [string, unknown][] = [
    ['fail/a forged token', new AgentError('WEFT_CONTROL_PLANE_REFUSED', 'the control plane refused the join token: join token signature does not verify (WEFT_TOKEN_FORGED)')],
    ['fail/an expired token', new AgentError('WEFT_CONTROL_PLANE_REFUSED', 'the control plane refused the join token: join token expired (WEFT_TOKEN_EXPIRED)')],
    ['fail/a revoked token', grpcError(status.UNAUTHENTICATED, 'join token revoked (WEFT_TOKEN_REVOKED)')],
    ['fail/a reused token', grpcError(status.UNAUTHENTICATED, 'join token already used (WEFT_TOKEN_REUSED)')],
    ['fail/a server without the pinned CA', new AgentError('WEFT_CONTROL_PLANE_UNTRUSTED', 'the server did not present the CA pinned by the join token')],
    ['fail/an invalid request', grpcError(status.INVALID_ARGUMENT, 'csr does not parse')],
    ['fail/an internal error', grpcError(status.INTERNAL, 'boom')],
    ['fail/a bug', new TypeError('x is undefined')],
  ];
  for (const [name, refusal] of refusals) {
    test(`${name} is not retried: it is thrown at once, unchanged`, async () => {
      const h = harness(180_000);
      let calls = 0;
      const err = await withFirstContactRetry(async () => {
        calls++;
        throw refusal;
      }, h.opts).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.equal(err, refusal);
      assert.equal(calls, 1);
      assert.deepEqual(h.waits, []);
    });
  }

  test('ok/stops waiting once the sidecar is told to stop', async () => {
    const h = harness(180_000);
    let calls = 0;
    await assert.rejects(
      withFirstContactRetry(async () => {
        calls++;
        throw unreachable();
      }, { ...h.opts, stopped: () => calls >= 3 }),
      /cannot reach the control plane/,
    );
    assert.equal(calls, 3);
  });
});
