// The decision algorithm and rule structure, from Istio's documentation (authorization_policy.proto,
// the authz-http / authz-deny / authz-tcp / authz-jwt tasks) and the reference's traps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from './evaluate.js';
import { authz, compile, decideYaml, fromYaml, mesh as meshWith, plaintext, request } from './testing/fixtures.js';

const AP = (name: string, spec: string, extra = ''): string =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: foo${extra}}\nspec:\n${spec.replace(/^/gm, '  ')}\n---\n`;

describe('decision order: CUSTOM, DENY, ALLOW', () => {
  test('ok/no policy at all allows', () => {
    const d = decideYaml('', request());
    assert.deepEqual({ allow: d.allow, action: d.action, reason: d.reason }, { allow: true, action: 'NONE', reason: 'no-allow-policy' });
  });

  test('fail/an ALLOW with an empty spec (allow-nothing) denies everything, and says the policy has no rules', () => {
    const d = decideYaml(AP('allow-nothing', '{}'), request());
    assert.equal(d.allow, false);
    assert.equal(d.reason, 'no-allow-match');
    assert.deepEqual(d.policy, { namespace: 'foo', name: 'allow-nothing' });
    assert.equal(d.ruleIndex, undefined);
  });

  test('ok/an ALLOW with rules: [{}] allows everything, HTTP and TCP', () => {
    const yaml = AP('allow-all', 'rules: [{}]');
    assert.equal(decideYaml(yaml, request()).allow, true);
    assert.equal(decideYaml(yaml, plaintext({ protocol: 'tcp' })).allow, true);
  });

  test('fail/a DENY with rules: [{}] denies everything, even when an ALLOW-all exists', () => {
    const d = decideYaml(AP('allow-all', 'rules: [{}]') + AP('deny-all', 'action: DENY\nrules: [{}]'), request());
    assert.equal(d.allow, false);
    assert.equal(d.action, 'DENY');
    assert.deepEqual(d.matched, []);
  });

  test('fail/a matching DENY beats a matching ALLOW', () => {
    const yaml = AP('allow-get', 'rules: [{to: [{operation: {methods: [GET]}}]}]') + AP('deny-admin', 'action: DENY\nrules: [{to: [{operation: {paths: [/admin]}}]}]');
    assert.equal(decideYaml(yaml, request({ path: '/x' })).allow, true);
    const d = decideYaml(yaml, request({ path: '/admin' }));
    assert.equal(d.allow, false);
    assert.equal(d.policy?.name, 'deny-admin');
  });

  test('fail/with any ALLOW policy, a request must match one of them', () => {
    const yaml = AP('allow-get', 'rules: [{to: [{operation: {methods: [GET]}}]}]');
    assert.equal(decideYaml(yaml, request({ method: 'GET' })).allow, true);
    const d = decideYaml(yaml, request({ method: 'POST' }));
    assert.equal(d.allow, false);
    assert.deepEqual(d.failed, { field: 'operation.methods', path: 'spec.rules[0].to[0].operation.methods', values: ['GET'], actual: 'POST' });
  });

  test('ok/ALLOW policies from the root namespace and the workload namespace combine (any may allow)', () => {
    const root = authz('istio-system', 'mesh-allow-get', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] });
    const local = authz('foo', 'allow-post', { rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });
    const c = compile([root, local]);
    assert.equal(evaluate(c, request({ method: 'GET' })).policy?.namespace, 'istio-system');
    assert.equal(evaluate(c, request({ method: 'POST' })).policy?.name, 'allow-post');
    assert.equal(evaluate(c, request({ method: 'PUT' })).allow, false);
  });

  test('fail/a CUSTOM policy whose provider weft cannot reach fails closed for the requests its rules match, and only those', () => {
    const yaml = AP('ext', 'action: CUSTOM\nprovider: {name: my-authz}\nrules: [{to: [{operation: {paths: ["/secure/*"]}}]}]');
    const mesh = { extensionProviders: [{ name: 'my-authz', envoyExtAuthzGrpc: { service: 'authz.foo.svc.cluster.local', port: 9000 } }] };
    const c = compile(fromYaml(yaml), { mesh: meshWith(mesh) });
    const d = evaluate(c, request({ path: '/secure/x' }));
    assert.equal(d.allow, false);
    assert.equal(d.action, 'CUSTOM');
    assert.match(d.failClosed ?? '', /is a host name; weft reaches providers only at an IP address or localhost/);
    assert.equal(d.custom, undefined);
    assert.equal(evaluate(c, request({ path: '/health' })).allow, true);
  });

  test('fail/CUSTOM is decided before DENY', () => {
    const c = compile([
      authz('foo', 'a-deny', { action: 'DENY', rules: [{}] }),
      authz('foo', 'z-custom', { action: 'CUSTOM', provider: { name: 'nope' }, rules: [{}] }),
    ]);
    const d = evaluate(c, request());
    assert.equal(d.action, 'CUSTOM');
    assert.match(d.failClosed ?? '', /not in MeshConfig extensionProviders/);
  });
});

describe('rule structure: OR across rules and entries, AND across fields and conditions', () => {
  const yaml = AP(
    'mixed',
    `rules:
- from: [{source: {principals: ["cluster.local/ns/foo/sa/a", "cluster.local/ns/foo/sa/b"], namespaces: [foo]}}]
  to: [{operation: {methods: [GET]}}, {operation: {paths: ["/public/*"]}}]
  when: [{key: "request.headers[x-env]", values: [prod]}, {key: source.ip, values: ["10.0.0.0/8"]}]
- from: [{source: {principals: ["cluster.local/ns/bar/sa/c"]}}]`,
  );
  const a = (o: Parameters<typeof request>[0] = {}) => request({ sourcePrincipal: 'cluster.local/ns/foo/sa/a', headers: { 'x-env': 'prod' }, ...o });

  test('ok/every field and condition holds', () => assert.equal(decideYaml(yaml, a()).allow, true));
  test('ok/the second value of a field matches (OR within a field)', () => assert.equal(decideYaml(yaml, a({ sourcePrincipal: 'cluster.local/ns/foo/sa/b' })).allow, true));
  test('ok/the second operation entry matches (OR across to[])', () => assert.equal(decideYaml(yaml, a({ method: 'POST', path: '/public/x' })).allow, true));
  test('ok/the second rule matches (OR across rules)', () => {
    const d = decideYaml(yaml, request({ sourcePrincipal: 'cluster.local/ns/bar/sa/c', sourceNamespace: 'bar', method: 'DELETE' }));
    assert.equal(d.allow, true);
    assert.equal(d.ruleIndex, 1);
  });
  test('fail/one condition fails (AND across when)', () => {
    const d = decideYaml(yaml, a({ sourceIp: '192.168.1.1' }));
    assert.equal(d.allow, false);
    assert.equal(d.failed?.field, 'source.ip');
    assert.equal(d.failed?.actual, '192.168.1.1');
  });
  test('fail/the header condition fails when the header is absent', () => assert.equal(decideYaml(yaml, a({ headers: {} })).allow, false));
  test('fail/no operation entry matches', () => assert.equal(decideYaml(yaml, a({ method: 'POST', path: '/private' })).allow, false));
  test('fail/the principal is right but the namespace field is not (AND across fields)', () => {
    const d = decideYaml(yaml, a({ sourcePrincipal: 'cluster.local/ns/baz/sa/a', sourceNamespace: 'baz' }));
    assert.equal(d.allow, false);
  });
});

describe('absent attributes: a positive match fails, a negative match holds (ISTIO-SECURITY-2021-004)', () => {
  test('fail/ALLOW principals rejects a plaintext request', () => {
    assert.equal(decideYaml(AP('p', 'rules: [{from: [{source: {principals: ["*"]}}]}]'), plaintext()).allow, false);
  });
  test('ok/ALLOW notNamespaces [foo] lets a plaintext request from foo through (documented trap)', () => {
    assert.equal(decideYaml(AP('p', 'rules: [{from: [{source: {notNamespaces: [foo]}}]}]'), plaintext()).allow, true);
  });
  test('ok/DENY namespaces [foo] does not stop a plaintext request (documented trap)', () => {
    assert.equal(decideYaml(AP('p', 'action: DENY\nrules: [{from: [{source: {namespaces: [foo]}}]}]'), plaintext()).allow, true);
  });
  test('fail/DENY notPrincipals ["*"] is the standard "require mTLS" policy', () => {
    const yaml = AP('require-mtls', 'action: DENY\nrules: [{from: [{source: {notPrincipals: ["*"]}}]}]');
    assert.equal(decideYaml(yaml, plaintext()).allow, false);
    assert.equal(decideYaml(yaml, request()).allow, true);
  });
  test('fail/DENY notRequestPrincipals ["*"] is the standard "require a JWT" policy', () => {
    const yaml = AP('require-jwt', 'action: DENY\nrules: [{from: [{source: {notRequestPrincipals: ["*"]}}]}]');
    assert.equal(decideYaml(yaml, request()).allow, false);
    assert.equal(decideYaml(yaml, request({ jwt: { principal: 'https://idp/u', claims: { iss: 'https://idp', sub: 'u' } } })).allow, true);
  });
  test('ok/ALLOW notRequestPrincipals [iss/sub] allows a request without a JWT', () => {
    assert.equal(decideYaml(AP('p', 'rules: [{from: [{source: {notRequestPrincipals: ["https://idp/u"]}}]}]'), request()).allow, true);
  });
  test('ok/a header notValues condition holds when the header is absent', () => {
    const yaml = AP('p', 'rules: [{when: [{key: "request.headers[x-foo]", notValues: [bar]}]}]');
    assert.equal(decideYaml(yaml, request()).allow, true);
    assert.equal(decideYaml(yaml, request({ headers: { 'x-foo': 'bar' } })).allow, false);
  });
  test('ok/values and notValues on one condition must both hold', () => {
    const yaml = AP('p', 'rules: [{when: [{key: "request.headers[x-v]", values: ["v*"], notValues: [v0]}]}]');
    assert.equal(decideYaml(yaml, request({ headers: { 'x-v': 'v1' } })).allow, true);
    assert.equal(decideYaml(yaml, request({ headers: { 'x-v': 'v0' } })).allow, false);
    assert.equal(decideYaml(yaml, request()).allow, false);
  });
});

describe('AUDIT and dry-run', () => {
  test('ok/AUDIT only reports the match; the decision is unchanged', () => {
    const yaml = AP('audit-get', 'action: AUDIT\nrules: [{to: [{operation: {methods: [GET]}}]}]');
    const d = decideYaml(yaml, request());
    assert.equal(d.allow, true);
    assert.deepEqual(d.auditMatches, [{ policy: { namespace: 'foo', name: 'audit-get' }, ruleIndex: 0 }]);
    assert.deepEqual(decideYaml(yaml, request({ method: 'POST' })).auditMatches, []);
  });
  test('ok/a dry-run DENY reports what it would deny and enforces nothing', () => {
    const d = decideYaml(AP('dry-deny', 'action: DENY\nrules: [{}]', ', annotations: {"istio.io/dry-run": "true"}'), request());
    assert.equal(d.allow, true);
    assert.deepEqual(d.dryRun, [{ action: 'DENY', allow: false, policy: { namespace: 'foo', name: 'dry-deny' }, ruleIndex: 0 }]);
  });
  test('ok/a dry-run ALLOW does not count as an ALLOW policy: an otherwise unmatched request is allowed', () => {
    const d = decideYaml(AP('dry-allow', 'rules: [{to: [{operation: {methods: [POST]}}]}]', ', annotations: {"istio.io/dry-run": "True"}'), request());
    assert.equal(d.allow, true);
    assert.equal(d.reason, 'no-allow-policy');
    assert.deepEqual(d.dryRun, [{ action: 'ALLOW', allow: false }]);
  });
  test('fail/an unparsable dry-run annotation means the policy is enforced', () => {
    const c = compile([authz('foo', 'deny', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'yes' })]);
    assert.equal(evaluate(c, request()).allow, false);
    assert.match(c.considered[0]!.reason ?? '', /not a boolean/);
  });
  test('ok/dry-run "0" is enforced, "1" is dry-run (Go ParseBool)', () => {
    assert.equal(evaluate(compile([authz('foo', 'd', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': '0' })]), request()).allow, false);
    assert.equal(evaluate(compile([authz('foo', 'd', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': '1' })]), request()).allow, true);
  });
});
