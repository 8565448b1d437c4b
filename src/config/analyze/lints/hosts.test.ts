import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, run } from '../testing.js';

const dr = (name: string, host: string, namespace = 'bookinfo') => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  host: ${host}\n`;
const vs = (hosts: string[]) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    route:
${hosts.map((h) => `    - destination: {host: ${h}}`).join('\n')}
`;
const serviceEntry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: bookinfo}
spec:
  hosts: [api.example.com, "*.wikipedia.org"]
  location: MESH_EXTERNAL
  resolution: NONE
  ports: [{number: 443, name: https, protocol: TLS}]
`;

describe('WA011: a host nothing serves', () => {
  test('fail/a DestinationRule host and a VirtualService destination that name no registered service', () => {
    const f = only(run(docs(dr('ratings', 'ratings'), vs(['reviews', 'reviews.bookinfo.svc.cluster.local', 'details.bookinfo']))), 'WA011');
    assert.deepEqual(f.map((x) => `${x.resource} ${x.path}`), ['DestinationRule/bookinfo/ratings spec.host', 'VirtualService/bookinfo/reviews spec.http[0].route[2].destination.host']);
    assert.match(f[1]!.message, /destination host details\.bookinfo/);
  });

  test('fail/a short name resolves in the resource namespace only', () => {
    assert.equal(only(run(dr('reviews', 'reviews', 'shop')), 'WA011').length, 1);
    assert.deepEqual(only(run(dr('reviews', 'reviews.bookinfo', 'shop')), 'WA011'), []);
  });

  test('ok/registered services in every spelling, ServiceEntry hosts (exact and wildcard), wildcard hosts', () => {
    const f = run(docs(
      serviceEntry,
      dr('a', 'reviews'), dr('b', 'reviews.bookinfo'), dr('c', 'reviews.bookinfo.svc'), dr('d', 'Reviews.Bookinfo.svc.cluster.local'),
      dr('e', 'api.example.com'), dr('f', 'en.wikipedia.org'), dr('g', '"*.bookinfo.svc.cluster.local"'),
    ));
    assert.deepEqual(only(f, 'WA011'), []);
  });

  test('ok/offline no host is judged', () => {
    assert.deepEqual(only(run(dr('ratings', 'ratings'), { workloads: 'offline' }), 'WA011'), []);
  });
});
