import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, policy, run } from '../testing.js';

const ra = (name: string, namespace: string, selector?: string) => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${selector === undefined ? '' : `  selector: {matchLabels: {app: ${selector}}}\n`}  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwksUri: "https://raw.githubusercontent.com/istio/istio/release-1.22/security/tools/jwt/samples/jwks.json"
`;
const requireJwt = (namespace: string, selector?: string) => policy('require-jwt', namespace, `${selector === undefined ? '' : `selector:\n  matchLabels:\n    app: ${selector}\n`}action: ALLOW\nrules:\n- from:\n  - source:\n      requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]`);
const extAuthz = 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  extensionProviders:\n  - name: sample-ext-authz-grpc\n    envoyExtAuthzGrpc: {service: ext-authz.foo.svc.cluster.local, port: 9000}\n';

describe('WA007: CUSTOM fails closed', () => {
  test('fail/a CUSTOM policy whose provider is a host name weft cannot reach yet is reported, naming its provider', () => {
    const f = only(run(docs(extAuthz, policy('ext-authz', 'bookinfo', 'selector:\n  matchLabels:\n    app: productpage\naction: CUSTOM\nprovider:\n  name: sample-ext-authz-grpc\nrules:\n- to:\n  - operation:\n      paths: ["/headers"]'))), 'WA007');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.path, 'spec.provider.name');
    assert.match(f[0]!.message, /"sample-ext-authz-grpc", whose service "ext-authz.foo.svc.cluster.local" is a host name/);
    assert.doesNotMatch(f[0]!.message, /does not define/);
  });

  test('ok/a CUSTOM policy whose provider runs at an IP address or localhost is enforced: nothing to report', () => {
    const local = extAuthz.replace('ext-authz.foo.svc.cluster.local', '127.0.0.1');
    assert.deepEqual(only(run(docs(local, policy('ext', 'bookinfo', 'action: CUSTOM\nprovider:\n  name: sample-ext-authz-grpc\nrules:\n- {}'))), 'WA007'), []);
  });

  test('fail/a provider MeshConfig does not define is named as such', () => {
    const f = only(run(policy('ext', 'bookinfo', 'action: CUSTOM\nprovider:\n  name: nowhere\nrules:\n- {}')), 'WA007');
    assert.match(f[0]!.message, /does not define/);
  });

  test('ok/ALLOW and DENY policies, and a dry-run CUSTOM (inert)', () => {
    const f = run(docs(policy('a', 'bookinfo', 'rules:\n- {}'), policy('d', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      paths: ["/admin"]'), policy('c', 'bookinfo', 'action: CUSTOM\nprovider:\n  name: x\nrules:\n- {}', { 'istio.io/dry-run': 'true' })));
    assert.deepEqual(only(f, 'WA007'), []);
  });
});

describe('WA008: allow-nothing', () => {
  test('fail/an empty spec is allow-nothing, an info', () => {
    const f = only(run('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-nothing, namespace: bookinfo}\nspec: {}\n'), 'WA008');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.severity, 'info');
    assert.match(f[0]!.message, /every workload of namespace bookinfo/);
  });

  test('ok/allow-all (rules: [{}]), a DENY without rules is invalid anyway, an AUDIT without rules', () => {
    const f = run(docs(policy('allow-all', 'bookinfo', 'rules:\n- {}'), policy('audit', 'bookinfo', 'action: AUDIT')));
    assert.deepEqual(only(f, 'WA008'), []);
  });
});

describe('WA009: a RequestAuthentication no policy backs with a token requirement', () => {
  test('fail/a RequestAuthentication alone (the istio.io authz-jwt trap)', () => {
    const f = only(run(ra('jwt-example', 'bookinfo', 'productpage')), 'WA009');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /bookinfo\/bookinfo-productpage/);
    assert.match(f[0]!.message, /a request with no token at all passes/);
  });

  test('fail/a requiring policy for other workloads only', () => {
    assert.equal(only(run(docs(ra('jwt', 'bookinfo'), requireJwt('bookinfo', 'productpage'))), 'WA009').length, 1);
  });

  test('ok/an ALLOW with requestPrincipals, or a DENY with notRequestPrincipals, on the same workloads', () => {
    assert.deepEqual(only(run(docs(ra('jwt', 'bookinfo', 'productpage'), requireJwt('bookinfo', 'productpage'))), 'WA009'), []);
    const deny = policy('deny-no-jwt', 'istio-system', 'action: DENY\nrules:\n- from:\n  - source:\n      notRequestPrincipals: ["*"]');
    assert.deepEqual(only(run(docs(ra('jwt', 'bookinfo', 'productpage'), deny)), 'WA009'), []);
  });

  test('offline: reported only when no requiring policy can apply to the same workloads', () => {
    assert.equal(only(run(docs(ra('jwt', 'bookinfo', 'productpage'), requireJwt('shop')), { workloads: 'offline' }), 'WA009').length, 1);
    assert.deepEqual(only(run(docs(ra('jwt', 'bookinfo'), requireJwt('bookinfo', 'productpage')), { workloads: 'offline' }), 'WA009'), [], 'may or may not cover: silent');
    assert.deepEqual(only(run(docs(ra('jwt', 'bookinfo', 'productpage'), requireJwt('bookinfo')), { workloads: 'offline' }), 'WA009'), []);
  });

  test('ok/a dry-run requiring policy does not count', () => {
    const dry = policy('require-jwt', 'bookinfo', 'rules:\n- from:\n  - source:\n      requestPrincipals: ["*"]', { 'istio.io/dry-run': 'true' });
    assert.equal(only(run(docs(ra('jwt', 'bookinfo', 'productpage'), dry)), 'WA009').length, 1);
  });
});

describe('WA010: accepted, not enforced', () => {
  test('fail/every field unenforcedFields reports becomes an info finding at its path', () => {
    const f = only(run(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - fault:
      abort: {httpStatus: 500, percentage: {value: 100}}
    route:
    - destination: {host: reviews}
    retries: {attempts: 3}
    mirror: {host: ratings}
    corsPolicy: {allowOrigins: [{exact: 'https://a.example'}]}
  tcp:
  - route: [{destination: {host: reviews}}]
`), 'WA010');
    assert.deepEqual(f.map((x) => x.path), ['spec.tcp']);
    assert.ok(f.every((x) => x.severity === 'info' && x.message.startsWith('accepted, not enforced: ')));
  });

  test('ok/a plain AuthorizationPolicy has nothing unenforced', () => {
    assert.deepEqual(only(run(policy('p', 'bookinfo', 'rules:\n- {}')), 'WA010'), []);
  });
});
