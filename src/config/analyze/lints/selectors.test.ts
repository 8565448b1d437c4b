import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, policy, run } from '../testing.js';

const reviewsDr = (subsets: string, host = 'reviews') => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: bookinfo
spec:
  host: ${host}
  subsets:
${subsets}
`;

describe('WA001: a selector that matches no registered workload', () => {
  test('fail/an AuthorizationPolicy whose labels no workload of its namespace has', () => {
    const f = only(run(policy('ratings-viewer', 'bookinfo', 'selector:\n  matchLabels:\n    app: ratings\nrules:\n- {}')), 'WA001');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.resource, 'AuthorizationPolicy/bookinfo/ratings-viewer');
    assert.equal(f[0]!.path, 'spec.selector.matchLabels');
    assert.equal(f[0]!.severity, 'warning');
    assert.match(f[0]!.message, /matches no registered workload in namespace bookinfo/);
  });

  test('fail/labels that exist, but in another namespace', () => {
    assert.equal(only(run(policy('p', 'shop', 'selector:\n  matchLabels:\n    app: reviews\nrules:\n- {}')), 'WA001').length, 1);
  });

  test('fail/a PeerAuthentication and a RequestAuthentication with a typo in the label', () => {
    const f = run(docs(
      'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: strict-reviews, namespace: bookinfo}\nspec:\n  selector: {matchLabels: {app: review}}\n  mtls: {mode: STRICT}\n',
      'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: bookinfo}\nspec:\n  selector: {matchLabels: {app: prodpage}}\n  jwtRules: [{issuer: "https://idp.example.com"}]\n',
    ));
    assert.deepEqual(only(f, 'WA001').map((x) => x.resource), ['PeerAuthentication/bookinfo/strict-reviews', 'RequestAuthentication/bookinfo/jwt']);
  });

  test('fail/a namespace-wide policy in a namespace no workload is registered in', () => {
    const f = only(run(policy('deny-all', 'bookinf', 'action: DENY\nrules:\n- {}')), 'WA001');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.path, 'metadata.namespace');
  });

  test('ok/a selector that picks a workload, one in the root namespace picking any namespace, a mesh-wide policy', () => {
    const f = run(docs(
      policy('reviews', 'bookinfo', 'selector:\n  matchLabels:\n    app: reviews\n    version: v2\nrules:\n- {}'),
      policy('mysql-everywhere', 'istio-system', 'selector:\n  matchLabels:\n    app: mysqldb\nrules:\n- {}'),
      policy('mesh-wide', 'istio-system', 'action: DENY\nrules:\n- from:\n  - source:\n      notNamespaces: ["*"]'),
    ));
    assert.deepEqual(only(f, 'WA001'), []);
  });

  test('fail/a selector in the root namespace that matches nothing in any namespace', () => {
    const f = only(run(policy('ghost', 'istio-system', 'selector:\n  matchLabels:\n    app: ghost\nrules:\n- {}')), 'WA001');
    assert.match(f[0]!.message, /in any namespace/);
  });

  test('ok/targetRef policies are for gateways and are not judged by their selector', () => {
    const f = run(policy('gw', 'bookinfo', 'targetRefs:\n- kind: Gateway\n  group: gateway.networking.k8s.io\n  name: ingress\nrules:\n- {}'));
    assert.deepEqual(only(f, 'WA001'), []);
  });

  test('fail/a DestinationRule subset whose labels no workload has', () => {
    const f = only(run(reviewsDr('  - name: v1\n    labels: {version: v1}\n  - name: v3\n    labels: {version: v3}')), 'WA001');
    assert.deepEqual(f.map((x) => x.path), ['spec.subsets[1].labels']);
    assert.match(f[0]!.message, /subset v3/);
  });

  test('offline: nothing is claimed about selectors', () => {
    assert.deepEqual(only(run(policy('ghost', 'bookinfo', 'selector:\n  matchLabels:\n    app: ghost\nrules:\n- {}'), { workloads: 'offline' }), 'WA001'), []);
  });
});

describe('WA006: a DestinationRule subset no endpoint of its host has', () => {
  test('fail/labels other workloads have, but no endpoint of the host', () => {
    const f = run(reviewsDr('  - name: v1\n    labels: {version: v1}\n  - name: redis\n    labels: {app: redis}', 'reviews.bookinfo.svc.cluster.local'));
    assert.deepEqual(only(f, 'WA006').map((x) => x.path), ['spec.subsets[1].labels']);
    assert.match(only(f, 'WA006')[0]!.message, /no endpoint of reviews\.bookinfo/);
    assert.deepEqual(only(f, 'WA001'), [], 'not reported twice');
  });

  test('ok/every subset has an endpoint, a subset without labels takes every endpoint', () => {
    const f = run(reviewsDr('  - name: v1\n    labels: {version: v1}\n  - name: v2\n    labels: {version: v2, app: reviews}\n  - name: all'));
    assert.deepEqual([...only(f, 'WA006'), ...only(f, 'WA001')], []);
  });

  test('ok/a host that is no registered service is left to WA011', () => {
    const f = run(reviewsDr('  - name: v1\n    labels: {version: v9}', 'ratings'));
    assert.deepEqual([...only(f, 'WA006'), ...only(f, 'WA001')], []);
    assert.equal(only(f, 'WA011').length, 1);
  });
});
