// Properties of the decision (fast-check), over policies and requests drawn from a vocabulary
// where values often collide: a matching DENY always wins; an empty ALLOW policy allows nothing;
// adding an ALLOW rule never turns an allowed request into a denied one; the rule index gives the
// decision a full scan in evaluation order gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AuthorizationPolicySpec, Rule } from '../config/generated/types.js';
import type { RequestAttributes } from './attributes.js';
import type { CompiledPolicies, PolicySet } from './compile.js';
import { ruleMatches } from './compile-rule.js';
import { evaluate, withoutPathParameters } from './evaluate.js';
import { RequestView } from './request-view.js';
import { authz, compile } from './testing/fixtures.js';

const some = <T>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 });
const SOURCE = {
  principals: ['cluster.local/ns/foo/sa/a', 'cluster.local/ns/bar/sa/b', '*/ns/foo/sa/a', 'cluster.local/ns/foo/*', '*'],
  namespaces: ['foo', 'bar', 'b*', '*'],
  serviceAccounts: ['foo/a', 'b', 'bar/b'],
  ipBlocks: ['10.0.0.0/8', '10.0.0.5', '2001:db8::/32'],
  requestPrincipals: ['https://idp/u1', '*', 'https://idp/*'],
};
const OPERATION = { paths: ['/admin', '/api/*', '/api/{*}/x', '*.json', '/', '/admin*'], methods: ['GET', 'POST', '*'], ports: ['8000', '9000'], hosts: ['svc.foo', '*.foo', 'svc.foo:*'] };

function fieldsOf(vocab: Record<string, readonly string[]>): fc.Arbitrary<Record<string, string[]>> {
  const entries = Object.entries(vocab).map(([name, values]) => fc.option(fc.tuple(fc.boolean(), some(values)).map(([neg, v]) => [neg ? `not${name[0]!.toUpperCase()}${name.slice(1)}` : name, v] as const), { nil: undefined }));
  return fc.tuple(...entries).map((list) => Object.fromEntries(list.filter((x) => x !== undefined)) as Record<string, string[]>).filter((o) => Object.keys(o).length > 0);
}

const rule: fc.Arbitrary<Rule> = fc.record(
  {
    from: fc.array(fieldsOf(SOURCE).map((source) => ({ source })), { minLength: 1, maxLength: 2 }),
    to: fc.array(fieldsOf(OPERATION).map((operation) => ({ operation })), { minLength: 1, maxLength: 2 }),
    when: fc.array(
      fc.record({ key: fc.constantFrom('request.headers[x-a]', 'request.auth.claims[groups]', 'source.ip', 'destination.port'), values: some(['1', '*', 'dev', '10.0.0.0/8', '8000']) })
        .filter((c) => !((c.key === 'source.ip') !== c.values.every((v) => v.includes('.'))) && !(c.key === 'destination.port' && c.values.some((v) => !/^[0-9]+$/.test(v)))),
      { minLength: 1, maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const action = fc.constantFrom('ALLOW', 'ALLOW', 'DENY', 'AUDIT') as fc.Arbitrary<'ALLOW' | 'DENY' | 'AUDIT'>;
const spec: fc.Arbitrary<AuthorizationPolicySpec> = fc.record({ action, rules: fc.array(rule, { maxLength: 3 }) });
const named = (specs: AuthorizationPolicySpec[]) => specs.map((s, i) => authz(i % 3 === 0 ? 'istio-system' : 'foo', `p${String(i).padStart(2, '0')}`, s));
const policies = fc.array(spec, { maxLength: 12 }).map(named);
/** Enough rules per action that the index (used above 8 rules) is exercised. */
const manyPolicies = fc.array(spec, { minLength: 10, maxLength: 30 }).map(named);

const request: fc.Arbitrary<RequestAttributes> = fc.record({
  protocol: fc.constantFrom('http', 'http', 'tcp'),
  sourcePrincipal: fc.constantFrom('cluster.local/ns/foo/sa/a', 'cluster.local/ns/bar/sa/b', 'other.td/ns/foo/sa/a', 'weird', undefined),
  sourceIp: fc.constantFrom('10.0.0.5', '192.168.1.1', '2001:db8::1'),
  destinationPort: fc.constantFrom(8000, 9000),
  method: fc.constantFrom('GET', 'POST', 'delete'),
  host: fc.constantFrom('svc.foo', 'SVC.foo:80', 'other'),
  path: fc.constantFrom('/admin', '/api/v', '/api/1/x', '/a.json', '/', '/admin;x=1', '/administrator'),
  headers: fc.constantFrom({}, { 'x-a': '1' }, { 'x-a': ['2', '1'] }),
  jwt: fc.constantFrom(undefined, { principal: 'https://idp/u1', claims: { iss: 'https://idp', sub: 'u1', groups: ['dev'] } }),
}, { requiredKeys: ['protocol', 'destinationPort', 'sourceIp'] }) as fc.Arbitrary<RequestAttributes>;

/** Istio's algorithm as a plain scan of every compiled rule, without the index. */
function reference(c: CompiledPolicies, a: RequestAttributes, path?: string): boolean {
  const r = new RequestView(a, c.spaceDelimitedClaims, path);
  const tcp = a.protocol === 'tcp';
  const hit = (set: PolicySet) => set.policies.some((p) => (tcp ? p.tcp : p.http).some((rule) => ruleMatches(rule, r)));
  if (hit(c.custom) || hit(c.deny)) return false;
  const allowed = !c.hasAllow || hit(c.allow);
  if (!allowed || path !== undefined || tcp || r.path === undefined || !r.path.includes(';')) return allowed;
  return reference(c, a, withoutPathParameters(r.path));
}

const RUNS = { numRuns: 400 };

test('the indexed decision equals a full scan in evaluation order', () => {
  fc.assert(fc.property(manyPolicies, fc.array(request, { minLength: 1, maxLength: 8 }), (ps, reqs) => {
    const c = compile(ps);
    for (const a of reqs) assert.equal(evaluate(c, a).allow, reference(c, a));
  }), RUNS);
});

test('a matching DENY always wins', () => {
  fc.assert(fc.property(policies, request, fc.constantFrom<Rule>({}, { to: [{ operation: { ports: ['8000', '9000'] } }] }, { from: [{ source: { notPrincipals: ['x/ns/y/sa/z'] } }] }), (ps, a, denyRule) => {
    const d = evaluate(compile([...ps, authz('foo', 'zz-deny', { action: 'DENY', rules: [denyRule] })]), a);
    assert.equal(d.allow, false);
    assert.ok(d.action === 'DENY' || d.action === 'CUSTOM');
  }), RUNS);
});

test('an empty ALLOW policy allows nothing', () => {
  const noAllow = policies.map((ps) => ps.filter((p) => p.spec.action !== 'ALLOW'));
  fc.assert(fc.property(noAllow, request, (ps, a) => {
    const d = evaluate(compile([...ps, authz('foo', 'allow-nothing', {})]), a);
    assert.equal(d.allow, false);
  }), RUNS);
});

test('adding an ALLOW rule never turns an allowed request into a denied one', () => {
  const withAllow = policies.map((ps) => [...ps, authz('foo', 'base-allow', { rules: [{ to: [{ operation: { methods: ['HEAD'] } }] }] })]);
  fc.assert(fc.property(withAllow, request, rule, fc.boolean(), (ps, a, extra, newPolicy) => {
    const before = evaluate(compile(ps), a);
    const target = ps.findIndex((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW');
    const after = newPolicy
      ? [...ps, authz('foo', 'added', { rules: [extra] })]
      : ps.map((p, i) => (i === target ? authz(p.metadata.namespace, p.metadata.name, { ...p.spec, rules: [...(p.spec.rules ?? []), extra] }) : p));
    if (before.allow) assert.equal(evaluate(compile(after), a).allow, true);
  }), RUNS);
});

test('a decision is deterministic and names a policy whenever it denies', () => {
  fc.assert(fc.property(policies, request, (ps, a) => {
    const c = compile(ps);
    const d = evaluate(c, a);
    assert.deepEqual(evaluate(c, a), d);
    if (!d.allow) assert.notEqual(d.policy, undefined);
  }), RUNS);
});
