import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ForwardDecision, NoRouteDecision, RouteDecision } from './decision.js';
import { CALLER, fromYaml, RATINGS, req, REVIEWS, table, vs } from './testing/fixtures.js';

const to = (host: string) => ({ route: [{ destination: { host } }] });
const dest = (d: RouteDecision) => (d as ForwardDecision).destinations.map((x) => `${x.host}|${x.subset ?? ''}|${x.port}|${x.weight}`);
const noRoute = (d: RouteDecision) => {
  assert.equal(d.kind, 'no-route', JSON.stringify(d));
  return d as NoRouteDecision;
};

describe('which VirtualServices apply (exportTo, gateways)', () => {
  test('exportTo: empty and * everywhere, . only in its namespace, a list for those namespaces', () => {
    const mk = (exportTo: string[] | undefined) => table([vs('default', 'r', { hosts: ['reviews'], ...(exportTo === undefined ? {} : { exportTo }), http: [to('ratings')] })]);
    const other = { namespace: 'shop', labels: {}, locality: '' };
    for (const [exportTo, inDefault, inShop] of [[undefined, true, true], [['*'], true, true], [['.'], true, false], [['shop'], false, true], [['x'], false, false]] as const) {
      const t = (c: typeof CALLER) => table([vs('default', 'r', { hosts: ['reviews'], ...(exportTo === undefined ? {} : { exportTo: [...exportTo] }), http: [to('ratings')] })], { caller: c });
      assert.equal(t(CALLER).virtualServiceFor(REVIEWS) !== undefined, inDefault, `${exportTo} default`);
      assert.equal(t(other).virtualServiceFor(REVIEWS) !== undefined, inShop, `${exportTo} shop`);
    }
    assert.ok(mk(undefined).virtualServiceFor(REVIEWS));
  });
  test('gateways: omitted is mesh; gateway-only VirtualServices do not apply to sidecars', () => {
    assert.ok(table([vs('default', 'r', { hosts: ['reviews'], http: [to('ratings')] })]).virtualServiceFor(REVIEWS));
    assert.ok(table([vs('default', 'r', { hosts: ['reviews'], gateways: ['mesh', 'edge/gw'], http: [to('ratings')] })]).virtualServiceFor(REVIEWS));
    assert.equal(table([vs('default', 'r', { hosts: ['reviews'], gateways: ['edge/gw'], http: [to('ratings')] })]).virtualServiceFor(REVIEWS), undefined);
  });
  test('hosts resolve in the VirtualService namespace, and wildcards bind registry hosts', () => {
    const t = table([vs('shop', 'd', { hosts: ['details'], http: [to('details')] }), vs('default', 'w', { hosts: ['*.svc.cluster.local'], http: [to('ratings')] })]);
    assert.equal(t.virtualServiceFor('details.shop.svc.cluster.local')!.ref, 'shop/d');
    assert.equal(t.virtualServiceFor(REVIEWS)!.ref, 'default/w');
  });
});

describe('conflicts', () => {
  test('several VirtualServices for one host: the oldest wins, the rest are reported', () => {
    const t = table([
      vs('default', 'newer', { hosts: ['reviews'], http: [to('reviews')] }, '2026-02-01T00:00:00Z'),
      vs('default', 'older', { hosts: ['reviews.default.svc.cluster.local'], http: [to('ratings')] }, '2026-01-01T00:00:00Z'),
      vs('default', 'b-same', { hosts: ['reviews'], http: [to('reviews')] }, '2026-01-01T00:00:00Z'),
    ]);
    assert.equal(t.virtualServiceFor(REVIEWS)!.ref, 'default/b-same');
    assert.deepEqual(t.conflicts, [{ host: REVIEWS, chosen: 'default/b-same', ignored: ['default/older', 'default/newer'] }]);
    assert.deepEqual(dest(t.route(req(REVIEWS))), [`${REVIEWS}||9080|100`]);
  });
});

describe('creation order', () => {
  test('an unparsable creationTimestamp sorts as the newest; equal times go by name', () => {
    const t = table([
      vs('default', 'a-broken', { hosts: ['reviews'], http: [to('ratings')] }, 'not a time'),
      vs('default', 'z-dated', { hosts: ['reviews'], http: [to('reviews')] }, '2026-05-01T00:00:00Z'),
      vs('default', 'b-broken', { hosts: ['reviews'], http: [to('reviews')] }, 'also not a time'),
    ]);
    assert.deepEqual(t.conflicts, [{ host: REVIEWS, chosen: 'default/z-dated', ignored: ['default/a-broken', 'default/b-broken'] }]);
  });
});

describe('sourceLabels, sourceNamespace and per-match gateways select callers at compile time', () => {
  const resources = [vs('default', 'r', {
    hosts: ['reviews'],
    http: [
      { match: [{ sourceLabels: { app: 'productpage' }, name: 'pp' }], ...to('ratings'), name: 'labels' },
      { match: [{ sourceNamespace: 'shop' }], route: [{ destination: { host: 'reviews', subset: 'shop' } }], name: 'ns' },
      { match: [{ gateways: ['edge/gw'], uri: { prefix: '/' } }], route: [{ destination: { host: 'reviews', subset: 'gw' } }] },
      { route: [{ destination: { host: 'reviews', subset: 'rest' } }], name: 'rest' },
    ],
  })];
  test('a caller with the labels takes the first route', () => {
    const d = table(resources).route(req(REVIEWS));
    assert.equal((d as ForwardDecision).routeName, 'labels.pp');
    assert.deepEqual(dest(d), [`${RATINGS}||9080|100`]);
  });
  test('a caller in namespace shop without the labels takes the second', () => {
    const d = table(resources, { caller: { namespace: 'shop', labels: {}, locality: '' } }).route(req(REVIEWS));
    assert.equal((d as ForwardDecision).routeName, 'ns');
  });
  test('other callers skip gateway-only matches and fall to the last route', () => {
    const d = table(resources, { caller: { namespace: 'x', labels: {}, locality: '' } }).route(req(REVIEWS));
    assert.equal((d as ForwardDecision).routeName, 'rest');
    assert.deepEqual(dest(d), [`${REVIEWS}|rest|9080|100`]);
  });
  test('per-match gateways with mesh ignore sourceLabels', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [{ match: [{ gateways: ['mesh'], sourceLabels: { app: 'nobody' } }], ...to('ratings') }] })]);
    assert.deepEqual(dest(t.route(req(REVIEWS))), [`${RATINGS}||9080|100`]);
  });
});

describe('route order, catch-all and ports', () => {
  test('first match wins and generation stops at the first catch-all', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [
      { match: [{ uri: { prefix: '/a' } }], ...to('ratings'), name: 'a' },
      { match: [{ uri: { prefix: '/' } }], ...to('reviews'), name: 'all' },
      { match: [{ uri: { prefix: '/b' } }], ...to('ratings'), name: 'never' },
    ] })]);
    assert.equal(t.virtualServiceFor(REVIEWS)!.http.length, 2);
    assert.equal((t.route(req(REVIEWS, { path: '/a/1' })) as ForwardDecision).routeName, 'a');
    assert.equal((t.route(req(REVIEWS, { path: '/b' })) as ForwardDecision).routeName, 'all');
  });
  test('a port in a match is compared with the destination port per request', () => {
    const t = table([vs('default', 'r', { hosts: ['productpage'], http: [
      { match: [{ port: 9443 }], ...to('ratings'), name: 'tls-port' },
      { match: [{ uri: { prefix: '/x' } }], ...to('reviews'), name: 'x' },
    ] })]);
    const pp = 'productpage.default.svc.cluster.local';
    assert.equal((t.route(req(pp, { port: 9443 })) as ForwardDecision).routeName, 'tls-port');
    assert.equal((t.route(req(pp, { port: 9080, path: '/x' })) as ForwardDecision).routeName, 'x');
    const n = noRoute(t.route(req(pp, { port: 9080, path: '/y' })));
    assert.deepEqual([n.status, n.flag, n.reason], [404, 'NR', 'no route of VirtualService default/r matches the request']);
  });
  test('a VirtualService with no HTTP route for the caller leaves HTTP to the default route', () => {
    const tcpOnly = table([vs('default', 'r', { hosts: ['reviews'], tcp: [{ route: [{ destination: { host: 'ratings' } }] }] })]);
    assert.equal((tcpOnly.route(req(REVIEWS)) as ForwardDecision).routeName, 'default');
    const othersOnly = table([vs('default', 'r', { hosts: ['reviews'], http: [{ match: [{ sourceLabels: { app: 'nobody' } }], ...to('ratings') }] })]);
    assert.deepEqual(dest(othersOnly.route(req(REVIEWS))), [`${REVIEWS}||9080|100`]);
  });
  test('each match block of one route logs its own name, request after request', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [{ name: 'r', match: [{ uri: { prefix: '/a' }, name: 'a' }, { uri: { prefix: '/b' }, name: 'b' }], ...to('ratings') }] })]);
    for (let i = 0; i < 3; i++) {
      assert.equal((t.route(req(REVIEWS, { path: '/a' })) as ForwardDecision).routeName, 'r.a');
      assert.equal((t.route(req(REVIEWS, { path: '/b' })) as ForwardDecision).routeName, 'r.b');
    }
  });
  test('no VirtualService: the host itself, on the request port', () => {
    const d = table([]).route(req(REVIEWS, { port: 9080 })) as ForwardDecision;
    assert.equal(d.routeName, 'default');
    assert.deepEqual(dest(d), [`${REVIEWS}||9080|100`]);
    assert.equal(d.retry.attempts, 2);
    assert.equal(d.timeoutMs, undefined);
  });
  test('an unknown host key is a no-route with the reason, not a crash', () => {
    assert.match(noRoute(table([]).route(req('nosuch.example.com'))).reason, /neither a service nor a ServiceEntry host/);
  });
});

describe('delegation', () => {
  const root = (delegate: { name: string; namespace?: string }, match?: object[]) => vs('default', 'root', { hosts: ['reviews'], http: [{ ...(match === undefined ? {} : { match }), delegate }, { ...to('reviews'), name: 'fallback' }] });
  test('the delegate routes replace the delegating one, each block AND-ed with the root block', () => {
    const t = table([
      root({ name: 'child', namespace: 'team' }, [{ uri: { prefix: '/api' } }]),
      vs('team', 'child', { http: [{ match: [{ headers: { 'x-v': { exact: '2' } }, name: 'v2' }], ...to('ratings.default'), name: 'child' }] }),
    ]);
    assert.equal((t.route(req(REVIEWS, { path: '/api/x', headers: { 'x-v': '2' } })) as ForwardDecision).routeName, 'child.v2');
    assert.equal((t.route(req(REVIEWS, { path: '/other', headers: { 'x-v': '2' } })) as ForwardDecision).routeName, 'fallback');
    assert.equal((t.route(req(REVIEWS, { path: '/api/x' })) as ForwardDecision).routeName, 'fallback');
  });
  test('short destination hosts of a delegate resolve in its own namespace', () => {
    const t = table([root({ name: 'child', namespace: 'shop' }), vs('shop', 'child', { http: [to('details')] })]);
    assert.deepEqual(dest(t.route(req(REVIEWS))), ['details.shop.svc.cluster.local||80|100']);
  });
  const failing: [string, ReturnType<typeof vs>[], RegExp][] = [
    ['missing', [root({ name: 'gone' })], /delegate VirtualService default\/gone does not exist/],
    ['with hosts', [root({ name: 'child' }), vs('default', 'child', { hosts: ['x.default'], http: [to('ratings')] })], /has hosts/],
    ['not exported', [root({ name: 'child', namespace: 'team' }), vs('team', 'child', { exportTo: ['.'], http: [to('ratings.default')] })], /not exported to namespace default/],
    ['delegating again', [root({ name: 'child' }), vs('default', 'child', { http: [{ delegate: { name: 'grandchild' } }] }), vs('default', 'grandchild', { http: [to('ratings')] })], /one level deep/],
    ['a cycle', [root({ name: 'child' }), vs('default', 'child', { http: [{ delegate: { name: 'root' } }] })], /one level deep/],
  ];
  for (const [name, resources, reason] of failing) {
    test(`fail/${name}: requests the route matches get a 404 with the reason, and an issue`, () => {
      const t = table(resources);
      const n = noRoute(t.route(req(REVIEWS)));
      assert.equal(n.status, 404);
      assert.match(n.reason, reason);
      assert.ok(t.issues.some((i) => reason.test(i.message)), JSON.stringify(t.issues));
    });
  }
  test('the delegate inherits what it leaves unset from the root route, and the names join with -', () => {
    const t = table([
      vs('default', 'root', { hosts: ['reviews'], http: [{ name: 'root', delegate: { name: 'child' }, timeout: '3s', retries: { attempts: 5 }, headers: { request: { set: { 'x-root': '1' } } } }] }),
      vs('default', 'child', { http: [
        { name: 'own', match: [{ uri: { prefix: '/own' }, name: 'm' }], timeout: '1s', ...to('ratings') },
        { name: 'rest', ...to('reviews') },
      ] }),
    ]);
    const own = t.route(req(REVIEWS, { path: '/own' })) as ForwardDecision;
    assert.deepEqual([own.routeName, own.timeoutMs, own.retry.attempts], ['root-own.m', 1000, 5]);
    const rest = t.route(req(REVIEWS, { path: '/x' })) as ForwardDecision;
    assert.deepEqual([rest.routeName, rest.timeoutMs, rest.requestHeaders.set], ['root-rest', 3000, [['x-root', '1']]]);
  });
  test('a root match name is kept when the delegate route has no match', () => {
    const t = table([
      vs('default', 'root', { hosts: ['reviews'], http: [{ name: 'root', match: [{ uri: { prefix: '/api' }, name: 'api' }], delegate: { name: 'child' } }] }),
      vs('default', 'child', { http: [{ name: 'rest', ...to('reviews') }] }),
    ]);
    assert.equal((t.route(req(REVIEWS, { path: '/api/x' })) as ForwardDecision).routeName, 'root-rest.api');
  });
  test('a failing delegate limited by a root match leaves other requests routed', () => {
    const t = table([root({ name: 'gone' }, [{ uri: { prefix: '/api' } }])]);
    assert.equal(t.route(req(REVIEWS, { path: '/api' })).kind, 'no-route');
    assert.equal((t.route(req(REVIEWS, { path: '/web' })) as ForwardDecision).routeName, 'fallback');
  });
});

describe('regexes RE2 refuses fail closed', () => {
  test('a request the rest of the block matches gets a 404 with the reason; earlier routes still work', () => {
    const t = table([vs('default', 'r', { hosts: ['reviews'], http: [
      { match: [{ uri: { exact: '/ok' } }], ...to('ratings'), name: 'ok' },
      { match: [{ method: { exact: 'POST' }, uri: { regex: '(a)\\1' } }], ...to('ratings'), name: 'bad' },
      { ...to('reviews'), name: 'rest' },
    ] })]);
    assert.equal((t.route(req(REVIEWS, { path: '/ok' })) as ForwardDecision).routeName, 'ok');
    assert.match(noRoute(t.route(req(REVIEWS, { method: 'POST', path: '/z' }))).reason, /route bad: uri: regex .*backreferences/);
    assert.equal((t.route(req(REVIEWS, { method: 'GET', path: '/z' })) as ForwardDecision).routeName, 'rest');
  });
});

describe('YAML as weft apply takes it', () => {
  test('the bookinfo reviews split routes by header and weight', () => {
    const t = table(fromYaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 75}
    - {destination: {host: reviews, subset: v3}, weight: 25}
`));
    assert.deepEqual(dest(t.route(req(REVIEWS, { headers: { 'end-user': 'jason' } }))), [`${REVIEWS}|v2|9080|100`]);
    assert.deepEqual(dest(t.route(req(REVIEWS))), [`${REVIEWS}|v1|9080|75`, `${REVIEWS}|v3|9080|25`]);
  });
});

describe('an external host through a ServiceEntry', () => {
  test('resolve names the entry host and route applies its VirtualService', () => {
    const t = table(fromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin.example.com]
  http:
  - timeout: 3s
    retries: {attempts: 0}
    route:
    - destination: {host: httpbin.example.com}
`));
    const r = t.resolve('HTTPBIN.example.com', 80);
    assert.equal(r.kind, 'service-entry');
    const d = t.route(req((r as { host: string }).host, { port: 80, authority: 'httpbin.example.com' })) as ForwardDecision;
    assert.deepEqual([d.kind, d.timeoutMs, d.retry.attempts, d.virtualService], ['forward', 3000, 0, 'default/httpbin']);
    assert.deepEqual(dest(d), ['httpbin.example.com||80|100']);
  });
});
