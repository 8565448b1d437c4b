import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authz, compile, mesh } from '../../policy/testing/fixtures.js';
import type { Logger } from '../../telemetry/logger.js';
import { ProxyStats } from '../stats.js';
import { authorizeRequest as authorizeMaybeAsync, type InboundPolicy, type InboundVerdict } from './authorize.js';
import type { InboundRequest } from './request.js';

/** Without jwtRules the stage answers synchronously. */
function authorizeRequest(...args: Parameters<typeof authorizeMaybeAsync>): InboundVerdict {
  const v = authorizeMaybeAsync(...args);
  assert.ok(!(v instanceof Promise), 'no jwtRules: a synchronous answer');
  return v;
}

function recorder(): Logger & { lines: { event: string; fields?: Record<string, unknown> }[] } {
  const lines: { event: string; fields?: Record<string, unknown> }[] = [];
  return { lines, log: (_level, event, fields) => void lines.push({ event, fields }) } as Logger & { lines: typeof lines };
}

const workload = { namespace: 'shop', labels: { app: 'web' } };
const policy = (normalization: InboundPolicy['normalization'] = 'BASE'): InboundPolicy => ({
  compiled: compile(
    [
      authz('shop', 'deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }),
      authz('shop', 'from-front', { rules: [{ from: [{ source: { principals: ['td/ns/shop/sa/front'] } }] }] }),
      authz('shop', 'audit-all', { action: 'AUDIT', rules: [{}] }),
    ],
    { mesh: mesh({ pathNormalization: { normalization } }), workload },
  ),
  normalization,
  acceptPlaintext: false,
});
const get = (target: string): InboundRequest => ({ method: 'GET', target, authority: 'web.shop:8080', fields: {} });
const FRONT = { peerSpiffeId: 'spiffe://td/ns/shop/sa/front', sourceIp: '127.0.0.1' };

test('an allowed request passes, with the normalized target when it differs', () => {
  const stats = new ProxyStats();
  const log = recorder();
  assert.deepEqual(authorizeRequest(policy(), get('/a?x=1'), FRONT, 8080, stats, log), { allow: true, request: get('/a?x=1') });
  assert.deepEqual(authorizeRequest(policy(), get('/a/./b/../c?q'), FRONT, 8080, stats, log), { allow: true, request: get('/a/c?q') });
  assert.equal(stats.inbound_requests_denied_total, 0);
  assert.ok(log.lines.some((l) => l.event === 'inbound.audit' && l.fields?.policy === 'shop/audit-all'), 'AUDIT matches are logged');
});

test('a denial is 403 RBAC: access denied, counted, and logged with the deciding policy', () => {
  const stats = new ProxyStats();
  const log = recorder();
  assert.deepEqual(authorizeRequest(policy(), get('/x/../admin'), FRONT, 8080, stats, log), { allow: false, status: 403, body: 'RBAC: access denied' });
  assert.deepEqual(authorizeRequest(policy(), get('/a'), { peerSpiffeId: 'spiffe://td/ns/shop/sa/other' }, 8080, stats, log), { allow: false, status: 403, body: 'RBAC: access denied' });
  assert.deepEqual(authorizeRequest(policy(), get('/a'), {}, 8080, stats, log), { allow: false, status: 403, body: 'RBAC: access denied' }, 'no principal (plaintext)');
  assert.equal(stats.inbound_requests_denied_total, 3);
  const denied = log.lines.filter((l) => l.event === 'inbound.denied');
  assert.match(String((denied[0]!.fields!.explanation as string[])[0]), /DENY by DENY policy shop\/deny-admin/);
  assert.match(String((denied[1]!.fields!.explanation as string[]).join('\n')), /failed: source\.principals/);
});

test('a path that cannot be normalized is 400, before any policy', () => {
  const stats = new ProxyStats();
  const v = authorizeRequest(policy(), get('/a%zz'), FRONT, 8080, stats, recorder());
  assert.equal(v.allow, false);
  assert.equal(!v.allow && v.status, 400);
  assert.equal(stats.inbound_requests_bad_path_total, 1);
});

test('MERGE_SLASHES closes the double-slash bypass that BASE leaves to the policy author', () => {
  const stats = new ProxyStats();
  assert.equal(authorizeRequest(policy('BASE'), get('//admin'), FRONT, 8080, stats, recorder()).allow, true);
  assert.equal(authorizeRequest(policy('MERGE_SLASHES'), get('//admin'), FRONT, 8080, stats, recorder()).allow, false);
});
