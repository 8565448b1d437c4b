// How each source field, operation field and `when` key matches, from Istio's API reference
// (authorization_policy.proto, conditions page) and the advisories that shaped it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestAttributes } from './attributes.js';
import { decideYaml, mesh, request } from './testing/fixtures.js';

/** True when an ALLOW policy with this one rule allows the request. */
function allows(rule: string, r: Partial<RequestAttributes>, options: Parameters<typeof decideYaml>[2] = {}): boolean {
  const yaml = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: foo}\nspec:\n  rules:\n  - ${rule}\n`;
  return decideYaml(yaml, request(r), options).allow;
}

const from = (source: string) => `from: [{source: {${source}}}]`;
const to = (operation: string) => `to: [{operation: {${operation}}}]`;
const when = (key: string, values: string) => `when: [{key: "${key}", ${values}}]`;
const jwt = (claims: Record<string, unknown>): RequestAttributes['jwt'] => ({
  principal: `${claims.iss as string}/${claims.sub as string}`,
  claims,
  ...(claims.aud === undefined ? {} : { audiences: [claims.aud].flat() as string[] }),
  ...(claims.azp === undefined ? {} : { presenter: claims.azp as string }),
});

describe('principals and peer identity', () => {
  const sleep = { sourcePrincipal: 'cluster.local/ns/foo/sa/sleep' };
  test('ok/exact, prefix, suffix and presence', () => {
    assert.ok(allows(from('principals: ["cluster.local/ns/foo/sa/sleep"]'), sleep));
    assert.ok(allows(from('principals: ["cluster.local/ns/foo/*"]'), sleep));
    assert.ok(allows(from('principals: ["*/sa/sleep"]'), sleep));
    assert.ok(allows(from('principals: ["*"]'), sleep));
  });
  test('fail/a different service account, or a prefix of the name only', () => {
    assert.ok(!allows(from('principals: ["cluster.local/ns/foo/sa/sleep2"]'), sleep));
    assert.ok(!allows(from('principals: ["cluster.local/ns/foo/sa/slee"]'), sleep));
  });
  test('ok/"*/ns/foo/sa/sleep" matches any trust domain, also on TCP (CVE-2020-16844)', () => {
    const deny = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: d, namespace: foo}\nspec:\n  action: DENY\n  rules: [{from: [{source: {principals: ["*/ns/foo/sa/sleep"]}}]}]\n';
    for (const protocol of ['http', 'tcp'] as const) {
      assert.equal(decideYaml(deny, request({ protocol, sourcePrincipal: 'other.td/ns/foo/sa/sleep' })).allow, false);
    }
  });
  test('ok/trust domain aliases: a principal in an alias or "cluster.local" means every trust domain of the mesh', () => {
    const m = { mesh: mesh({ trustDomain: 'new.td', trustDomainAliases: ['old.td'] }) };
    assert.ok(allows(from('principals: ["old.td/ns/foo/sa/sleep"]'), { sourcePrincipal: 'new.td/ns/foo/sa/sleep' }, m));
    assert.ok(allows(from('principals: ["new.td/ns/foo/sa/sleep"]'), { sourcePrincipal: 'old.td/ns/foo/sa/sleep' }, m));
    assert.ok(allows(from('principals: ["cluster.local/ns/foo/sa/sleep"]'), { sourcePrincipal: 'new.td/ns/foo/sa/sleep' }, m));
    assert.ok(allows(from('principals: ["cluster.local/ns/foo/sa/*"]'), { sourcePrincipal: 'old.td/ns/foo/sa/x' }, m));
  });
  test('fail/a foreign trust domain is not expanded, and aliases do not reach other trust domains', () => {
    const m = { mesh: mesh({ trustDomain: 'new.td', trustDomainAliases: ['old.td'] }) };
    assert.ok(!allows(from('principals: ["other.td/ns/foo/sa/sleep"]'), { sourcePrincipal: 'new.td/ns/foo/sa/sleep' }, m));
    assert.ok(!allows(from('principals: ["old.td/ns/foo/sa/sleep"]'), { sourcePrincipal: 'other.td/ns/foo/sa/sleep' }, m));
    assert.ok(!allows(from('principals: ["cluster.local/ns/foo/sa/sleep"]'), { sourcePrincipal: 'cluster.local/ns/foo/sa/sleep' }, m));
  });
  test('ok/namespaces: exact, prefix, suffix; derived from the principal', () => {
    const r = { sourcePrincipal: 'cluster.local/ns/team-prod/sa/x', sourceNamespace: undefined };
    assert.ok(allows(from('namespaces: [team-prod]'), r));
    assert.ok(allows(from('namespaces: ["team-*"]'), r));
    assert.ok(allows(from('namespaces: ["*-prod"]'), r));
    assert.ok(!allows(from('namespaces: ["team"]'), r));
  });
  test('fail/the namespace of the principal wins over a contradicting sourceNamespace attribute', () => {
    assert.ok(!allows(from('namespaces: [foo]'), { sourcePrincipal: 'cluster.local/ns/bar/sa/x', sourceNamespace: 'foo' }));
  });
  test('ok/serviceAccounts: "ns/sa", or a bare name in the policy\'s namespace, any trust domain', () => {
    assert.ok(allows(from('serviceAccounts: ["foo/sleep"]'), { sourcePrincipal: 'x.td/ns/foo/sa/sleep' }));
    assert.ok(allows(from('serviceAccounts: ["sleep"]'), {}));
    assert.ok(!allows(from('serviceAccounts: ["sleep"]'), { sourcePrincipal: 'cluster.local/ns/bar/sa/sleep' }));
  });
  test('fail/serviceAccounts compares literally: "ns/my.sa" does not match "ns/myXsa" (CVE-2026-39350)', () => {
    assert.ok(allows(from('serviceAccounts: ["foo/my.sa"]'), { sourcePrincipal: 'cluster.local/ns/foo/sa/my.sa' }));
    assert.ok(!allows(from('serviceAccounts: ["foo/my.sa"]'), { sourcePrincipal: 'cluster.local/ns/foo/sa/myXsa' }));
  });
  test('ok/trustDomains: a known trust domain stands for all aliases; wildcards for others', () => {
    const m = { mesh: mesh({ trustDomain: 'new.td', trustDomainAliases: ['old.td'] }) };
    assert.ok(allows(from('trustDomains: [new.td]'), { sourcePrincipal: 'old.td/ns/foo/sa/a' }, m));
    assert.ok(allows(from('trustDomains: ["*.example.org"]'), { sourcePrincipal: 'a.example.org/ns/foo/sa/a' }, m));
    assert.ok(!allows(from('trustDomains: [new.td]'), { sourcePrincipal: 'evil.td/ns/foo/sa/a' }, m));
  });
});

describe('requestPrincipals: split at the last "/", issuer and subject compared apart', () => {
  const token = { jwt: jwt({ iss: 'https://idp.example.com', sub: 'user-1' }) };
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['ok/"*" needs an issuer and a subject', '*', true],
    ['ok/plain iss/sub', 'https://idp.example.com/user-1', true],
    ['ok/"iss/*" any subject', 'https://idp.example.com/*', true],
    ['ok/"*/sub" any issuer', '*/user-1', true],
    ['ok/"*suffix/sub"', '*example.com/user-1', true],
    ['ok/"iss/prefix*"', 'https://idp.example.com/user*', true],
    ['ok/"*x" without "/" is a subject suffix', '*-1', true],
    ['ok/"x*" without "/" is an issuer prefix', 'https:*', true],
    ['fail/another subject', 'https://idp.example.com/user-2', false],
    ['fail/another issuer', 'https://other.example.com/user-1', false],
    ['fail/a plain value without "/" never matches', 'user-1', false],
  ];
  for (const [name, value, expected] of cases) test(name, () => assert.equal(allows(from(`requestPrincipals: ["${value}"]`), token), expected));
  test('fail/iss "a" with sub "b/c" does not match "a/b/c" (the split is at the last "/")', () => {
    assert.ok(!allows(from('requestPrincipals: ["a/b/c"]'), { jwt: jwt({ iss: 'a', sub: 'b/c' }) }));
    assert.ok(allows(from('requestPrincipals: ["a/b/c"]'), { jwt: jwt({ iss: 'a/b', sub: 'c' }) }));
  });
  test('fail/no JWT, no request principal', () => assert.ok(!allows(from('requestPrincipals: ["*"]'), {})));
});

describe('operation fields', () => {
  test('ok/hosts compare case-insensitively (CVE-2021-39155)', () => {
    assert.ok(allows(to('hosts: ["Secret.com"]'), { host: 'sECRET.cOm' }));
    assert.ok(allows(to('hosts: ["*.Example.com"]'), { host: 'API.example.COM' }));
  });
  test('fail/an exact host does not match the same host with a port; "host:*" does', () => {
    assert.ok(!allows(to('hosts: ["httpbin.foo"]'), { host: 'httpbin.foo:80' }));
    assert.ok(allows(to('hosts: ["httpbin.foo", "httpbin.foo:*"]'), { host: 'httpbin.foo:80' }));
  });
  test('ok/methods: a lower-case request method is canonicalized before matching (GHSA-w44g-8m76-8gc5)', () => {
    assert.ok(allows(to('methods: [GET]'), { method: 'get' }));
    assert.ok(!allows(to('notMethods: [GET]'), { method: 'Get' }));
  });
  test('ok/ports match the destination (container) port', () => {
    assert.ok(allows(to('ports: ["8000"]'), { destinationPort: 8000 }));
    assert.ok(!allows(to('ports: ["80"]'), { destinationPort: 8000 }));
    assert.ok(allows(to('notPorts: ["80"]'), { destinationPort: 8000 }));
  });
  test('fail/paths are case-sensitive and ignore the query string', () => {
    assert.ok(!allows(to('paths: ["/admin"]'), { path: '/ADMIN' }));
    assert.ok(allows(to('paths: ["/admin"]'), { path: '/admin?x=1' }));
    assert.ok(allows(to('paths: ["*.json"]'), { path: '/a/b.json' }));
  });
  // Istio integration test vectors (tests/integration/security/authz_test.go, path templates).
  const templates = 'paths: ["/allow/admin/{**}", "/foo/{*}/bar/{**}", "/store/{**}/cart"]';
  const vectors: ReadonlyArray<readonly [string, boolean]> = [
    ['/allow/admin/', true], ['/allow/admin', false], ['/allow/admin?param=value', false], ['/allow/admin/temp', true],
    ['/allow/admin/temp.txt', true], ['/allow/admin/foo/temp.txt', true], ['/allow/user/', false], ['/allow', false],
    ['/foo/buzz/bar/bat.txt', true], ['/foo/buzz/bar/bat.temp.txt', true], ['/foo/buzz/bar/bat/fuzz.txt', true], ['/foo/buzz/bar/bat', true],
    ['/foo/bar/bat.txt', false], ['/foo//bar/bat.txt', false], ['/store//cart', true], ['/store/foo/cart', true],
    ['/store/foo/bar/cart', true], ['/store/cart', false],
  ];
  for (const [p, expected] of vectors) test(`${expected ? 'ok' : 'fail'}/path template vector ${p}`, () => assert.equal(allows(to(templates), { path: p }), expected));
  test('ok/"/foo/{*}" matches one segment only; "/foo/{**}/" needs the trailing "/"', () => {
    assert.ok(allows(to('paths: ["/foo/{*}"]'), { path: '/foo/bar' }));
    assert.ok(!allows(to('paths: ["/foo/{*}"]'), { path: '/foo/bar/baz' }));
    assert.ok(allows(to('paths: ["/foo/{**}/"]'), { path: '/foo//' }));
    assert.ok(!allows(to('paths: ["/foo/{**}/"]'), { path: '/foo/bar' }));
  });
});

describe('when conditions', () => {
  test('fail/a repeated header: each value is checked on its own (CVE-2026-26308)', () => {
    const deny = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: d, namespace: foo}\nspec:\n  action: DENY\n  rules: [{when: [{key: "request.headers[X-Role]", values: [admin]}]}]\n';
    assert.equal(decideYaml(deny, request({ headers: { 'x-role': ['user', 'admin'] } })).allow, false);
    assert.equal(decideYaml(deny, request({ headers: { 'x-role': 'user,admin' } })).allow, true);
  });
  test('ok/notValues fails if any value of a repeated header matches', () => {
    assert.ok(!allows(when('request.headers[x-role]', 'notValues: [admin]'), { headers: { 'x-role': ['user', 'admin'] } }));
  });
  test('ok/header "*" means present, even with an empty value', () => {
    assert.ok(allows(when('request.headers[x-token]', 'values: ["*"]'), { headers: { 'x-token': '' } }));
    assert.ok(!allows(when('request.headers[x-token]', 'values: ["*"]'), {}));
  });
  const claims = { jwt: jwt({ iss: 'https://idp', sub: 'u', aud: ['api', 'web'], azp: 'cli', groups: ['dev', 'ops'], scope: 'read write', level: 5, admin: true, nested: { a: { b: 'deep' } }, 'foo.com/name': 'n' }) };
  const claimCases: ReadonlyArray<readonly [string, string, string, boolean]> = [
    ['ok/a list claim matches when any element does', 'request.auth.claims[groups]', 'values: [ops]', true],
    ['ok/a nested claim', 'request.auth.claims[nested][a][b]', 'values: [deep]', true],
    ['fail/a nested claim that is an object', 'request.auth.claims[nested][a]', 'values: ["*"]', false],
    ['ok/a dotted name in one bracket is one key', 'request.auth.claims[foo.com/name]', 'values: [n]', true],
    ['ok/scope is split on spaces', 'request.auth.claims[scope]', 'values: [write]', true],
    ['fail/the whole scope string no longer matches', 'request.auth.claims[scope]', 'values: ["read write"]', false],
    ['fail/a number claim does not match a string', 'request.auth.claims[level]', 'values: ["5"]', false],
    ['fail/a bool claim does not match a string', 'request.auth.claims[admin]', 'values: ["true"]', false],
    ['fail/an absent claim', 'request.auth.claims[missing]', 'values: ["*"]', false],
    ['ok/an absent claim passes notValues', 'request.auth.claims[missing]', 'notValues: [x]', true],
    ['ok/audiences: any element', 'request.auth.audiences', 'values: [web]', true],
    ['ok/presenter', 'request.auth.presenter', 'values: [cli]', true],
    ['ok/request.auth.principal', 'request.auth.principal', 'values: ["https://idp/u"]', true],
  ];
  for (const [name, key, values, expected] of claimCases) test(name, () => assert.equal(allows(when(key, values), claims), expected));
  test('ok/spaceDelimitedClaims from the RequestAuthentication split other claims too', () => {
    const yaml = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules: [{issuer: "https://idp", spaceDelimitedClaims: [roles]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: foo}
spec:
  rules: [{when: [{key: "request.auth.claims[roles]", values: [b]}]}]
`;
    assert.ok(decideYaml(yaml, request({ jwt: jwt({ iss: 'https://idp', sub: 'u', roles: 'a b' }) })).allow);
  });
  test('ok/source.ip, remote.ip and destination.ip take addresses and CIDR blocks', () => {
    assert.ok(allows(when('source.ip', 'values: ["10.0.0.0/24"]'), { sourceIp: '10.0.0.5' }));
    assert.ok(allows(when('remote.ip', 'values: ["203.0.113.7"]'), { remoteIp: '203.0.113.7' }));
    assert.ok(allows(when('destination.ip', 'values: ["10.0.0.9"]'), {}));
  });
  test('ok/destination.port and connection.sni', () => {
    assert.ok(allows(when('destination.port', 'values: ["8000"]'), {}));
    assert.ok(allows(when('connection.sni', 'values: ["*.httpbin.foo.svc.cluster.local"]'), { sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' }));
    assert.ok(!allows(when('connection.sni', 'values: ["*"]'), {}));
  });
  test('ok/source.principal, source.namespace, source.serviceAccount and source.trustDomain conditions', () => {
    assert.ok(allows(when('source.principal', 'values: ["cluster.local/ns/foo/sa/sleep"]'), {}));
    assert.ok(allows(when('source.namespace', 'values: [foo]'), {}));
    assert.ok(allows(when('source.serviceAccount', 'values: ["foo/sleep"]'), {}));
    assert.ok(allows(when('source.trustDomain', 'values: [cluster.local]'), {}));
  });
});

describe('ipBlocks and remoteIpBlocks', () => {
  test('ok/IPv4 CIDR and single address', () => {
    assert.ok(allows(from('ipBlocks: ["10.0.0.0/8"]'), { sourceIp: '10.200.3.4' }));
    assert.ok(allows(from('ipBlocks: ["10.0.0.5"]'), { sourceIp: '10.0.0.5' }));
    assert.ok(!allows(from('ipBlocks: ["10.0.0.5"]'), { sourceIp: '10.0.0.6' }));
  });
  test('ok/IPv6 CIDR, and an IPv4-mapped IPv6 peer counts as its IPv4 address', () => {
    assert.ok(allows(from('ipBlocks: ["2001:db8::/32"]'), { sourceIp: '2001:db8:0:1::7' }));
    assert.ok(!allows(from('ipBlocks: ["2001:db8::/32"]'), { sourceIp: '2001:db9::7' }));
    assert.ok(allows(from('ipBlocks: ["192.168.0.0/16"]'), { sourceIp: '::ffff:192.168.4.5' }));
    assert.ok(allows(from('ipBlocks: ["::ffff:192.168.0.0/112"]'), { sourceIp: '192.168.4.5' }));
  });
  test('fail/an unparsable request address matches no block and passes every notIpBlocks', () => {
    assert.ok(!allows(from('ipBlocks: ["0.0.0.0/0"]'), { sourceIp: '010.0.0.1' }));
    assert.ok(allows(from('notIpBlocks: ["0.0.0.0/0"]'), { sourceIp: 'garbage' }));
  });
  test('ok/remoteIpBlocks reads the original client address, the peer address when there is none', () => {
    assert.ok(allows(from('remoteIpBlocks: ["203.0.113.0/24"]'), { sourceIp: '10.0.0.5', remoteIp: '203.0.113.9' }));
    assert.ok(allows(from('remoteIpBlocks: ["10.0.0.0/24"]'), { sourceIp: '10.0.0.5' }));
    assert.ok(!allows(from('notRemoteIpBlocks: ["203.0.113.0/24"]'), { remoteIp: '203.0.113.9' }));
  });
});

test('fail/a header named like an Object property is not present unless the request sent it', () => {
  assert.ok(!allows(when('request.headers[constructor]', 'values: ["*"]'), { headers: {} }));
  assert.ok(!allows(when('request.headers[__proto__]', 'values: ["*"]'), { headers: {} }));
  assert.ok(allows(when('request.headers[constructor]', 'values: ["x"]'), { headers: { constructor: 'x' } as Record<string, string> }));
});
