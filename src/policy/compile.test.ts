// Which policies a workload enforces (selection, targetRefs) and how policies weft cannot compile
// fail closed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthorizationPolicySpec } from '../config/generated/types.js';
import { evaluate } from './evaluate.js';
import { explainDecision } from './explain.js';
import { authz, compile, fromYaml, HTTPBIN, mesh, request } from './testing/fixtures.js';

const denyAll: AuthorizationPolicySpec = { action: 'DENY', rules: [{}] };

describe('selection', () => {
  const cases: ReadonlyArray<readonly [string, string, AuthorizationPolicySpec, boolean]> = [
    ['ok/a namespace policy without selector applies to every workload of its namespace', 'foo', denyAll, true],
    ['ok/a matching selector applies', 'foo', { ...denyAll, selector: { matchLabels: { app: 'httpbin' } } }, true],
    ['ok/all selector labels must match', 'foo', { ...denyAll, selector: { matchLabels: { app: 'httpbin', version: 'v2' } } }, false],
    ['ok/an empty matchLabels is no selector', 'foo', { ...denyAll, selector: { matchLabels: {} } }, true],
    ['ok/a policy of another namespace does not apply', 'bar', denyAll, false],
    ['ok/a root-namespace policy without selector applies mesh-wide', 'istio-system', denyAll, true],
    ['ok/a root-namespace policy with a selector applies to matching workloads of every namespace', 'istio-system', { ...denyAll, selector: { matchLabels: { app: 'httpbin' } } }, true],
    ['ok/... and not to others', 'istio-system', { ...denyAll, selector: { matchLabels: { app: 'other' } } }, false],
    ['ok/a targetRefs policy is for gateways and waypoints, not sidecars', 'foo', { ...denyAll, targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] }, false],
    ['ok/so is a targetRef policy', 'foo', { ...denyAll, targetRef: { kind: 'Service', group: '', name: 'httpbin' } }, false],
  ];
  for (const [name, ns, spec, applies] of cases) {
    test(name, () => assert.equal(evaluate(compile([authz(ns, 'p', spec)]), request()).allow, !applies));
  }

  test('ok/the root namespace comes from MeshConfig', () => {
    const c = compile([authz('mesh-root', 'p', denyAll)], { mesh: mesh({ rootNamespace: 'mesh-root' }) });
    assert.equal(evaluate(c, request()).allow, false);
    assert.equal(evaluate(compile([authz('mesh-root', 'p', denyAll)]), request()).allow, true);
  });

  test('ok/ignored targetRef policies are listed with the reason', () => {
    const c = compile([authz('foo', 'wp', { ...denyAll, targetRefs: [{ kind: 'Service', name: 'httpbin' }] })]);
    assert.deepEqual(c.considered.map((p) => [p.ref.name, p.status]), [['wp', 'ignored']]);
    assert.match(c.considered[0]!.reason!, /sidecars ignore them/);
  });

  test('ok/only the RequestAuthentications that select the workload are kept', () => {
    const c = compile(fromYaml(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: mine, namespace: foo}
spec: {selector: {matchLabels: {app: httpbin}}, jwtRules: [{issuer: a}]}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: other, namespace: foo}
spec: {selector: {matchLabels: {app: other}}, jwtRules: [{issuer: b}]}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: mesh, namespace: istio-system}
spec: {jwtRules: [{issuer: c}]}
`));
    assert.deepEqual(c.requestAuthentications.map((r) => r.metadata.name).sort(), ['mesh', 'mine']);
  });
});

describe('fail closed', () => {
  const broken: ReadonlyArray<readonly [string, AuthorizationPolicySpec, RegExp]> = [
    ['fail/an Envoy filter metadata condition', { rules: [{ when: [{ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }] }] }, /Envoy filter metadata/],
    ['fail/an unknown condition key', { rules: [{ when: [{ key: 'destination.labels[app]', values: ['x'] }] }] }, /not one weft can evaluate/],
    ['fail/an invalid CIDR', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] }, /prefix length/],
    ['fail/an infix wildcard', { rules: [{ to: [{ operation: { paths: ['/a*b'] } }] }] }, /wildcard/],
    ['fail/an invalid path template', { rules: [{ to: [{ operation: { paths: ['/a/{*}.txt'] } }] }] }, /operator must be a whole segment/],
    ['fail/an unknown source field', { rules: [{ from: [{ source: { principles: ['x'] } as never }] }] }, /not one weft knows/],
    ['fail/an empty source', { rules: [{ from: [{ source: {} }] }] }, /empty source/],
    ['fail/an empty from list', { rules: [{ from: [] }] }, /at least one entry/],
    ['fail/a condition without values', { rules: [{ when: [{ key: 'source.ip' }] }] }, /needs values or notValues/],
    ['fail/a non-numeric port', { rules: [{ to: [{ operation: { ports: ['http'] } }] }] }, /not a port number/],
    ['fail/a CUSTOM policy without rules', { action: 'CUSTOM', provider: { name: 'x' } }, /needs rules/],
  ];
  for (const [name, spec, reason] of broken) {
    for (const action of ['ALLOW', 'DENY'] as const) {
      test(`${name} (${action}) makes the policy deny everything it selects, with the reason`, () => {
        const c = compile([authz('foo', 'broken', { action, ...spec })]);
        const d = evaluate(c, request());
        assert.equal(d.allow, false);
        assert.equal(d.policy?.name, 'broken');
        assert.match(d.failClosed ?? '', reason);
        assert.equal(c.considered[0]!.status, 'fail-closed');
        assert.match(explainDecision(d).join('\n'), /fail-closed: .*could not be compiled/);
        assert.equal(evaluate(c, request({ protocol: 'tcp' })).allow, false);
      });
    }
  }

  test('ok/a broken dry-run policy only reports a would-deny', () => {
    const c = compile([authz('foo', 'broken', { rules: [{ when: [{ key: 'nope', values: ['x'] }] }] }, { 'istio.io/dry-run': 'true' })]);
    const d = evaluate(c, request());
    assert.equal(d.allow, true);
    assert.deepEqual(d.dryRun, [{ action: 'DENY', allow: false, policy: { namespace: 'foo', name: 'broken' }, ruleIndex: 0 }]);
  });

  test('ok/a DENY without rules never matches (Istio); an AUDIT without rules does nothing', () => {
    assert.equal(evaluate(compile([authz('foo', 'd', { action: 'DENY' })]), request()).allow, true);
    assert.deepEqual(evaluate(compile([authz('foo', 'a', { action: 'AUDIT' })]), request()).auditMatches, []);
  });

  test('ok/compiling never throws and the workload comes back unchanged', () => {
    const c = compile([]);
    assert.deepEqual(c.workload, HTTPBIN);
    assert.equal(c.hasAllow, false);
    assert.equal(c.pathNormalization, 'MERGE_SLASHES');
  });
});
