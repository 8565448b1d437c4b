import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, run } from '../testing.js';

const vs = (name: string, hosts: string[], extra = '', namespace = 'bookinfo') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  hosts: ${JSON.stringify(hosts)}
${extra}  http:
  - route:
    - destination: {host: reviews.bookinfo.svc.cluster.local}
`;
const dr = (host: string, subsets: string[], namespace = 'bookinfo') => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-${subsets.join('-') || 'none'}, namespace: ${namespace}}
spec:
  host: "${host}"
${subsets.length === 0 ? '' : `  subsets:\n${subsets.map((s) => `  - {name: ${s}, labels: {version: ${s}}}`).join('\n')}\n`}`;

describe('WA017: several VirtualServices for one host', () => {
  test('fail/the newer one is reported, at its host, naming the older one in force', () => {
    const f = only(run(docs(vs('first', ['reviews']), vs('second', ['reviews.bookinfo.svc.cluster.local', 'ratings']))), 'WA017');
    assert.deepEqual(f.map((x) => `${x.resource} ${x.path}`), ['VirtualService/bookinfo/second spec.hosts[0]']);
    assert.match(f[0]!.message, /host reviews\.bookinfo\.svc\.cluster\.local is also claimed by VirtualService bookinfo\/first, which is older: .*IST0109/);
  });
  test('fail/three claims give two findings', () => {
    assert.equal(only(run(docs(vs('a', ['reviews']), vs('b', ['reviews']), vs('c', ['reviews.bookinfo']))), 'WA017').length, 2);
  });
  test('ok/gateway-only VirtualServices, different hosts, a short name in another namespace, disjoint exportTo', () => {
    assert.deepEqual(only(run(docs(vs('a', ['reviews']), vs('b', ['reviews'], '  gateways: [edge/gw]\n'))), 'WA017'), []);
    assert.deepEqual(only(run(docs(vs('a', ['reviews']), vs('b', ['ratings']))), 'WA017'), []);
    assert.deepEqual(only(run(docs(vs('a', ['reviews']), vs('b', ['reviews'], '', 'shop'))), 'WA017'), []);
    assert.deepEqual(only(run(docs(vs('a', ['reviews'], '  exportTo: ["."]\n'), vs('b', ['reviews.bookinfo'], '  exportTo: [shop]\n', 'other'))), 'WA017'), []);
  });
  test('fail/overlapping exportTo still conflicts', () => {
    assert.equal(only(run(docs(vs('a', ['reviews'], '  exportTo: ["."]\n'), vs('b', ['reviews.bookinfo'], '  exportTo: [bookinfo]\n', 'other'))), 'WA017').length, 1);
  });
});

const routed = (subset: string, host = 'reviews') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: split, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - mirror: {host: ${host}, subset: ${subset}}
    route:
    - destination: {host: ${host}, subset: ${subset}}
  tcp:
  - route:
    - destination: {host: ${host}, subset: v1}
`;

describe('WA018: a subset no DestinationRule defines', () => {
  test('fail/with no DestinationRule for the host, every subset is reported, mirrors included', () => {
    const f = only(run(routed('v2')), 'WA018');
    assert.deepEqual(f.map((x) => x.path), ['spec.http[0].mirror.subset', 'spec.http[0].route[0].destination.subset', 'spec.tcp[0].route[0].destination.subset']);
    assert.match(f[1]!.message, /subset v2 of reviews is defined by no DestinationRule for that host.*IST0101/);
  });
  test('fail/a DestinationRule for the host without that subset', () => {
    assert.deepEqual(only(run(docs(dr('reviews.bookinfo.svc.cluster.local', ['v1']), routed('v2'))), 'WA018').map((x) => x.path), ['spec.http[0].mirror.subset', 'spec.http[0].route[0].destination.subset']);
  });
  test('ok/subsets defined in any spelling of the host, or by a wildcard DestinationRule; works offline', () => {
    assert.deepEqual(only(run(docs(dr('reviews', ['v1', 'v2']), routed('v2')), { workloads: 'offline' }), 'WA018'), []);
    assert.deepEqual(only(run(docs(dr('reviews.bookinfo', ['v1']), dr('reviews.bookinfo.svc', ['v2']), routed('v2'))), 'WA018'), []);
    assert.deepEqual(only(run(docs(dr('*.bookinfo.svc.cluster.local', ['v1', 'v2']), routed('v2', 'reviews.bookinfo.svc.cluster.local'))), 'WA018'), []);
  });
});

const root = (delegate: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    delegate: ${delegate}
  - route:
    - destination: {host: reviews}
`;
const child = (name: string, namespace: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${extra}  http:
  - route:
    - destination: {host: reviews.bookinfo}
`;

describe('WA019: a delegate that cannot be applied', () => {
  const cases: [string, string, RegExp][] = [
    ['missing', root('{name: gone}'), /bookinfo\/gone does not exist \(Istio IST0101\)/],
    ['with hosts', docs(root('{name: child}'), child('child', 'bookinfo', '  hosts: [x.bookinfo]\n')), /has hosts/],
    ['not exported', docs(root('{name: child, namespace: team}'), child('child', 'team', '  exportTo: ["."]\n')), /not exported to namespace bookinfo/],
  ];
  for (const [name, yaml, reason] of cases) {
    test(`fail/${name}`, () => {
      const f = only(run(yaml, { workloads: 'offline' }), 'WA019');
      assert.deepEqual(f.map((x) => `${x.resource} ${x.path}`), ['VirtualService/bookinfo/root spec.http[0].delegate']);
      assert.match(f[0]!.message, reason);
      assert.match(f[0]!.message, /requests the route matches get 404/);
    });
  }
  test('fail/a delegate that delegates again', () => {
    const f = only(run(docs(root('{name: child}'), `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: child, namespace: bookinfo}
spec:
  http:
  - delegate: {name: root}
`)), 'WA019');
    assert.deepEqual(f.map((x) => `${x.resource} ${x.path}`), ['VirtualService/bookinfo/child spec.http[0].delegate']);
    assert.match(f[0]!.message, /one level deep/);
  });
  test('ok/a delegate without hosts, exported to the root namespace', () => {
    assert.deepEqual(only(run(docs(root('{name: child, namespace: team}'), child('child', 'team', '  exportTo: [bookinfo]\n'))), 'WA019'), []);
  });
});
