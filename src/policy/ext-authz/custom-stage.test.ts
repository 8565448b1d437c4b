// The CUSTOM stage of Istio's decision (CUSTOM -> DENY -> ALLOW): a CUSTOM rule selects the
// requests sent to the provider; the provider's denial decides first, its allowance leaves the
// DENY/ALLOW verdict standing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyCustomResult, evaluate } from '../evaluate.js';
import { decisionToJson, explainDecision } from '../explain.js';
import { compile, fromYaml, mesh as meshWith, plaintext, request } from '../testing/fixtures.js';

const AP = (name: string, spec: string): string =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: foo}\nspec:\n${spec.replace(/^/gm, '  ')}\n---\n`;
const CUSTOM = (name: string, provider: string, rules = '[{to: [{operation: {paths: ["/secure/*"]}}]}]'): string => AP(name, `action: CUSTOM\nprovider: {name: ${provider}}\nrules: ${rules}`);
const HTTP = { name: 'opa-http', envoyExtAuthzHttp: { service: '127.0.0.1', port: 9001 } };
const GRPC = { name: 'opa', envoyExtAuthzGrpc: { service: 'localhost', port: 9191 } };
const mesh = meshWith({ extensionProviders: [HTTP, GRPC] });

describe('CUSTOM selects, the provider decides first, then DENY, then ALLOW', () => {
  test('ok/a request the CUSTOM rules select carries the check; one they do not select carries none', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa')), { mesh });
    const selected = evaluate(c, request({ path: '/secure/x' }));
    assert.equal(selected.allow, true);
    assert.deepEqual(selected.custom?.provider, 'opa');
    assert.deepEqual(selected.custom?.policy, { namespace: 'foo', name: 'ext' });
    assert.equal(evaluate(c, request({ path: '/public' })).custom, undefined);
    assert.equal(c.providers.get('opa')?.kind, 'grpc');
    assert.equal(c.providers.get('opa')?.host, '127.0.0.1');
  });

  test('fail/the provider denying decides at the CUSTOM stage, with its status, even when ALLOW would allow', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa') + AP('allow-all', 'rules: [{}]')), { mesh });
    const d = applyCustomResult(evaluate(c, request({ path: '/secure/x' })), { allowed: false, error: false, status: 401, reason: 'no' });
    assert.deepEqual({ allow: d.allow, action: d.action, reason: d.reason, status: d.customStatus }, { allow: false, action: 'CUSTOM', reason: 'custom-denied', status: 401 });
    assert.match(explainDecision(d)[0]!, /^DENY by CUSTOM policy foo\/ext, rule 0: provider "opa" denied \(401\)$/);
    assert.equal(decisionToJson(d).custom?.outcome, 'denied');
  });

  test('fail/a provider allowing does not bypass DENY: the DENY stage still decides', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa') + AP('deny-secure', 'action: DENY\nrules: [{to: [{operation: {paths: ["/secure/admin"]}}]}]')), { mesh });
    const d = applyCustomResult(evaluate(c, request({ path: '/secure/admin' })), { allowed: true });
    assert.deepEqual({ allow: d.allow, action: d.action, outcome: d.custom?.outcome }, { allow: false, action: 'DENY', outcome: 'allowed' });
    assert.ok(explainDecision(d).some((l) => l.includes('custom: provider "opa" allowed (CUSTOM policy foo/ext, rule 0)')));
  });

  test('fail/a provider allowing does not bypass ALLOW: no ALLOW match still denies', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa') + AP('allow-get', 'rules: [{to: [{operation: {methods: [GET]}}]}]')), { mesh });
    const d = applyCustomResult(evaluate(c, request({ path: '/secure/x', method: 'POST' })), { allowed: true });
    assert.deepEqual({ allow: d.allow, reason: d.reason }, { allow: false, reason: 'no-allow-match' });
  });

  test('fail/a provider failing without failOpen denies with the error status, said as an error', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa')), { mesh });
    const d = applyCustomResult(evaluate(c, request({ path: '/secure/x' })), { allowed: false, error: true, status: 503, reason: 'timed out after 50 ms' });
    assert.deepEqual({ allow: d.allow, reason: d.reason, status: d.customStatus }, { allow: false, reason: 'custom-error', status: 503 });
    assert.ok(explainDecision(d).includes('  provider: timed out after 50 ms'));
  });

  test('ok/failing open is recorded on the decision that stands', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa')), { mesh });
    const d = applyCustomResult(evaluate(c, request({ path: '/secure/x' })), { allowed: true, failedOpen: true });
    assert.equal(d.allow, true);
    assert.equal(decisionToJson(d).custom?.outcome, 'failed-open');
  });

  test('fail/an unknown provider fails closed without a check', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'nope')), { mesh });
    const d = evaluate(c, request({ path: '/secure/x' }));
    assert.deepEqual({ allow: d.allow, action: d.action, custom: d.custom }, { allow: false, action: 'CUSTOM', custom: undefined });
    assert.match(d.failClosed ?? '', /"nope" is not in MeshConfig extensionProviders/);
  });

  test('fail/two providers for one workload: every CUSTOM policy denies what it matches, as Istio', () => {
    const c = compile(fromYaml(CUSTOM('a', 'opa') + CUSTOM('b', 'opa-http', '[{to: [{operation: {paths: ["/other"]}}]}]')), { mesh });
    for (const path of ['/secure/x', '/other']) {
      const d = evaluate(c, request({ path }));
      assert.equal(d.allow, false, path);
      assert.match(d.failClosed ?? '', /name 2 providers \("opa", "opa-http"\); Istio allows one per workload/);
    }
    assert.equal(evaluate(c, request({ path: '/free' })).allow, true);
    assert.ok(c.considered.every((x) => x.status === 'fail-closed'));
  });

  test('ok/an HTTP provider never sees TCP; a gRPC provider\'s CUSTOM rule denies TCP connections it selects (not sent yet)', () => {
    const http = compile(fromYaml(CUSTOM('ext', 'opa-http', '[{}]')), { mesh });
    assert.equal(evaluate(http, plaintext({ protocol: 'tcp' })).allow, true);
    const grpc = compile(fromYaml(CUSTOM('ext', 'opa', '[{}]')), { mesh });
    const d = evaluate(grpc, plaintext({ protocol: 'tcp' }));
    assert.equal(d.allow, false);
    assert.match(d.failClosed ?? '', /does not send TCP connections/);
  });

  test('ok/a CUSTOM selection made on the path without ";" parameters still sends the check', () => {
    const c = compile(fromYaml(CUSTOM('ext', 'opa', '[{to: [{operation: {paths: ["/secure"]}}]}]')), { mesh });
    assert.equal(evaluate(c, request({ path: '/secure;x=1' })).custom?.provider, 'opa');
  });
});
