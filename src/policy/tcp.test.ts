// HTTP-only fields on TCP connections (Istio authz-tcp task; model.Generate with forTCP): an ALLOW
// rule naming one never matches TCP, a DENY/AUDIT/CUSTOM rule loses only those fields.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from './evaluate.js';
import { explainDecision } from './explain.js';
import { authz, compile, mesh, request } from './testing/fixtures.js';

const tcp = (o: Parameters<typeof request>[0] = {}) => request({ protocol: 'tcp', method: undefined, path: undefined, host: undefined, headers: undefined, ...o });

describe('HTTP-only fields on TCP', () => {
  test('fail/an ALLOW rule with methods never matches TCP, and the workload still has an ALLOW policy', () => {
    const c = compile([authz('foo', 'allow-get', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }], to: [{ operation: { methods: ['GET'], ports: ['8000'] } }] }] })]);
    assert.equal(evaluate(c, request()).allow, true);
    const d = evaluate(c, tcp());
    assert.equal(d.allow, false);
    assert.deepEqual(d.failed, { field: 'protocol', path: 'spec.rules[0]', values: ['http'], actual: 'tcp' });
  });

  test('ok/an ALLOW rule with TCP fields only (ports, principals) matches TCP', () => {
    const c = compile([authz('foo', 'allow-tcp', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }], to: [{ operation: { ports: ['8000'] } }] }] })]);
    assert.equal(evaluate(c, tcp()).allow, true);
    assert.equal(evaluate(c, tcp({ destinationPort: 9000 })).allow, false);
  });

  const denyCases: ReadonlyArray<readonly [string, Parameters<typeof authz>[2], Parameters<typeof request>[0], boolean]> = [
    ['fail/DENY methods: [GET] alone denies all TCP', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }, {}, false],
    ['fail/DENY methods + ports denies all TCP on that port', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'], ports: ['8000'] } }] }] }, {}, false],
    ['ok/... and not on another port', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'], ports: ['8000'] } }] }] }, { destinationPort: 9000 }, true],
    ['fail/DENY requestPrincipals + ports denies TCP on that port', { action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*'] } }], to: [{ operation: { ports: ['8000'] } }] }] }, {}, false],
    ['fail/DENY namespaces + methods denies TCP from that namespace', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['foo'] } }], to: [{ operation: { methods: ['GET'] } }] }] }, {}, false],
    ['ok/... but not from another namespace', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['bar'] } }], to: [{ operation: { methods: ['GET'] } }] }] }, {}, true],
    ['fail/DENY notRequestPrincipals ["*"] denies all TCP (require-JWT on a TCP port)', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] }, {}, false],
    ['fail/DENY with a header condition and a port denies TCP on the port', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['8000'] } }], when: [{ key: 'request.headers[x-a]', values: ['b'] }] }] }, {}, false],
  ];
  for (const [name, spec, o, allowed] of denyCases) {
    test(name, () => assert.equal(evaluate(compile([authz('foo', 'd', spec)]), tcp(o)).allow, allowed));
  }

  test('ok/the explanation of a widened DENY says HTTP-only fields were left out', () => {
    const d = evaluate(compile([authz('foo', 'd', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })]), tcp());
    assert.equal(d.httpFieldsIgnored, true);
    assert.match(explainDecision(d).join('\n'), /on TCP, Istio leaves the HTTP-only fields/);
  });

  test('ok/AUDIT widens on TCP like DENY', () => {
    const d = evaluate(compile([authz('foo', 'a', { action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/x'] } }] }] })]), tcp());
    assert.equal(d.allow, true);
    assert.equal(d.auditMatches.length, 1);
  });

  test('ok/a CUSTOM policy with an HTTP provider is not applied to TCP; with a gRPC or unknown provider it fails closed', () => {
    const providers = [
      { name: 'http-authz', envoyExtAuthzHttp: { service: 'a.foo.svc.cluster.local', port: 8000 } },
      { name: 'grpc-authz', envoyExtAuthzGrpc: { service: 'a.foo.svc.cluster.local', port: 9000 } },
    ];
    const m = (name: string) => compile([authz('foo', 'c', { action: 'CUSTOM', provider: { name }, rules: [{}] })], { mesh: mesh({ extensionProviders: providers }) });
    assert.equal(evaluate(m('http-authz'), tcp()).allow, true);
    assert.equal(evaluate(m('http-authz'), request()).allow, false);
    assert.equal(evaluate(m('grpc-authz'), tcp()).allow, false);
    assert.equal(evaluate(m('unknown'), tcp()).allow, false);
  });
});
