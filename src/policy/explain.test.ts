import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from './evaluate.js';
import { decisionToJson, describeCondition, explainDecision } from './explain.js';
import { authz, compile, plaintext, request } from './testing/fixtures.js';

const policies = [
  authz('foo', 'allow-sleep', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }], to: [{ operation: { methods: ['GET'] } }] }] }),
  authz('foo', 'deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }], when: [{ key: 'request.headers[x-user]', notValues: ['root'] }] }] }),
  authz('foo', 'audit-all', { action: 'AUDIT', rules: [{}] }),
  authz('foo', 'dry', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'true' }),
];

describe('explainDecision and decisionToJson', () => {
  test('ok/an allow names the policy and rule, the audit match and the dry-run result', () => {
    assert.deepEqual(explainDecision(evaluate(compile(policies), request())), [
      'ALLOW by ALLOW policy foo/allow-sleep, rule 0',
      '  audit: foo/audit-all, rule 0',
      '  dry-run DENY: would deny by foo/dry, rule 0',
    ]);
  });

  test('fail/a DENY match lists the conditions that held, with the request\'s values', () => {
    const lines = explainDecision(evaluate(compile(policies), request({ path: '/admin' })));
    assert.equal(lines[0], 'DENY by DENY policy foo/deny-admin, rule 0');
    assert.equal(lines[1], '  matched: operation.paths expects one of ["/admin"]; the request has "/admin" (spec.rules[0].to[0].operation.paths)');
    assert.equal(lines[2], '  matched: request.headers[x-user] expects none of ["root"]; the request has none (spec.rules[0].when[0])');
  });

  test('fail/no ALLOW match names the nearest rule and its failed condition', () => {
    const d = evaluate(compile(policies), plaintext());
    assert.deepEqual(explainDecision(d).slice(0, 2), [
      'DENY: no ALLOW policy matched; nearest: foo/allow-sleep, rule 0',
      '  failed: source.principals expects one of ["cluster.local/ns/foo/sa/sleep"]; the request has none (spec.rules[0].from[0].source.principals)',
    ]);
  });

  test('ok/the JSON form is plain, stable data', () => {
    const json = decisionToJson(evaluate(compile(policies), request({ method: 'POST' })));
    assert.deepEqual(JSON.parse(JSON.stringify(json)), {
      decision: 'deny',
      action: 'ALLOW',
      reason: 'no-allow-match',
      policy: 'foo/allow-sleep',
      ruleIndex: 0,
      failed: { field: 'operation.methods', path: 'spec.rules[0].to[0].operation.methods', values: ['GET'], actual: 'POST' },
      matched: [],
      failClosed: null,
      custom: null,
      pathParametersRemoved: false,
      httpFieldsIgnored: false,
      auditMatches: [{ policy: 'foo/audit-all', ruleIndex: 0 }],
      dryRun: [{ action: 'DENY', decision: 'deny', policy: 'foo/dry', ruleIndex: 0 }],
    });
    assert.equal(decisionToJson(evaluate(compile([]), request())).policy, null);
  });

  test('ok/list values and an allow-nothing policy read well', () => {
    assert.equal(describeCondition({ field: 'request.auth.audiences', path: 'spec.rules[0].when[0]', values: ['a'], notValues: ['b'], actual: ['x', 'y'] }),
      'request.auth.audiences expects one of ["a"] and none of ["b"]; the request has ["x", "y"] (spec.rules[0].when[0])');
    assert.deepEqual(explainDecision(evaluate(compile([authz('foo', 'nothing', {})]), request())), ['DENY: no ALLOW policy matched; foo/nothing has no rules, so it allows nothing']);
    assert.deepEqual(explainDecision(evaluate(compile([authz('foo', 'all', { action: 'DENY', rules: [{}] })]), request())), [
      'DENY by DENY policy foo/all, rule 0',
      '  matched: the rule has no conditions, so it matches every request',
    ]);
  });
});
