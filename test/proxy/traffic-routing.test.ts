// VirtualService routing through real sidecars: a client sidecar with a compiled traffic
// configuration in front of two workloads of reviews (version=v1, v2), each behind its own sidecar.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { hitsReach, REVIEWS_SUBSETS, startTrafficRig, type TrafficRig } from './traffic-rig.js';

const SUBSETS = REVIEWS_SUBSETS;

const vs = (http: string): string => `${SUBSETS}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
${http}`;

const versionOf = (body: Buffer): string => (JSON.parse(body.toString()) as { version: string }).version;

describe('VirtualService routing through the sidecar', () => {
  let rig: TrafficRig;
  before(async () => {
    rig = await startTrafficRig(['v1', 'v2']);
  });
  after(async () => {
    await rig?.close();
  });
  beforeEach(() => rig.resetHits());

  test('without a VirtualService every endpoint serves (the default route)', async () => {
    rig.apply(SUBSETS);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const r = await rig.get(`/plain/${i}`);
      assert.equal(r.status, 200);
      seen.add(versionOf(r.body));
    }
    assert.deepEqual([...seen].sort(), ['v1', 'v2']);
  });

  test('a header match sends the request to its subset; other requests to the default subset', async () => {
    rig.apply(vs(`
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`));
    for (let i = 0; i < 10; i++) {
      assert.equal(versionOf((await rig.get('/r', { 'end-user': 'jason' })).body), 'v2');
      assert.equal(versionOf((await rig.get('/r', { 'end-user': 'json' })).body), 'v1');
      assert.equal(versionOf((await rig.get('/r')).body), 'v1');
    }
  });

  test('an authority without a port names the service\'s only port, so its VirtualService applies', async () => {
    rig.apply(vs(`
  - route: [{ destination: { host: reviews, subset: v2 } }]
`));
    for (let i = 0; i < 6; i++) assert.equal(versionOf((await rig.get('/np', { host: 'reviews.default' })).body), 'v2');
    for (let i = 0; i < 6; i++) assert.equal(versionOf((await rig.get('/np', { host: 'reviews.default.svc.cluster.local:9080' })).body), 'v2');
  });

  for (const [w1, lo, hi] of [[90, 80, 97], [50, 35, 65]] as const) {
    test(`traffic shifting ${w1}/${100 - w1} over 200 requests`, async () => {
      rig.apply(vs(`
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: ${w1} }
    - { destination: { host: reviews, subset: v2 }, weight: ${100 - w1} }
`));
      let v1 = 0;
      for (let i = 0; i < 200; i++) {
        const r = await rig.get(`/shift/${i}`);
        assert.equal(r.status, 200);
        if (versionOf(r.body) === 'v1') v1++;
      }
      const pct = v1 / 2;
      assert.ok(pct >= lo && pct <= hi, `v1 took ${pct}% (expected ${lo}..${hi})`);
    });
  }

  test('rewrite of path and authority, request and response header operations', async () => {
    rig.apply(vs(`
  - match: [{ uri: { prefix: /old } }]
    rewrite: { uri: /new, authority: reviews.default.svc.cluster.local:9080 }
    headers:
      request: { set: { x-route: old }, remove: [x-drop] }
      response: { set: { x-served-by: weft }, remove: [x-app-version] }
    route:
    - destination: { host: reviews, subset: v1 }
      headers: { request: { add: { x-dest: v1 } } }
`));
    const r = await rig.get('/old/page?q=1', { 'x-drop': 'secret', 'x-keep': 'yes' });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body.toString()) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/new/page?q=1');
    assert.equal(seen.headers.host, 'reviews.default.svc.cluster.local:9080');
    assert.equal(seen.headers['x-route'], 'old');
    assert.equal(seen.headers['x-dest'], 'v1');
    assert.equal(seen.headers['x-keep'], 'yes');
    assert.equal(seen.headers['x-drop'], undefined);
    assert.equal(r.headers['x-served-by'], 'weft');
    assert.equal(r.headers['x-app-version'], undefined);
  });

  test('redirect and direct response are answered by the sidecar, nothing reaches an app', async () => {
    rig.apply(vs(`
  - match: [{ uri: { exact: /moved } }]
    redirect: { uri: /here, authority: ratings.default:9080, redirectCode: 308 }
  - match: [{ uri: { prefix: /maintenance } }]
    directResponse: { status: 503, body: { string: "down for maintenance" } }
    headers: { response: { set: { retry-after: "60" } } }
  - route: [{ destination: { host: reviews } }]
`));
    const moved = await rig.get('/moved?x=1');
    assert.equal(moved.status, 308);
    assert.equal(moved.headers.location, 'http://ratings.default:9080/here?x=1');
    const down = await rig.get('/maintenance/now');
    assert.equal(down.status, 503);
    assert.equal(down.body.toString(), 'down for maintenance');
    assert.equal(down.headers['retry-after'], '60');
    assert.equal(down.headers['x-weft-proxy-error'], undefined);
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 0);
  });

  test('no matching route: 404 with flag NR and the reason; an undefined subset: 503 NC', async () => {
    rig.apply(vs(`
  - match: [{ uri: { prefix: /api } }]
    route: [{ destination: { host: reviews, subset: v9 } }]
`));
    const none = await rig.get('/other');
    assert.equal(none.status, 404);
    assert.match(String(none.headers['x-weft-proxy-error']), /^NR WEFT_PROXY_NO_ROUTE: no route of VirtualService default\/reviews matches/);
    const nc = await rig.get('/api/x');
    assert.equal(nc.status, 503);
    assert.match(String(nc.headers['x-weft-proxy-error']), /^NC WEFT_PROXY_NO_CLUSTER: .*v9/);
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 0);
    assert.ok(rig.client.stats().local_replies_nr_total! >= 1);
  });

  test('fault abort at 100% answers the configured status with flag FI; a delay lets the request through with flag DI', async () => {
    rig.apply(vs(`
  - match: [{ uri: { prefix: /abort } }]
    fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }
    route: [{ destination: { host: reviews } }]
  - fault: { delay: { fixedDelay: 150ms, percentage: { value: 100 } } }
    route: [{ destination: { host: reviews } }]
`));
    const aborted = await rig.get('/abort');
    assert.equal(aborted.status, 418);
    assert.match(String(aborted.headers['x-weft-proxy-error']), /^FI WEFT_PROXY_FAULT_ABORT/);
    const before = rig.client.stats().local_replies_di_total ?? 0;
    const delayed = await rig.get('/delayed');
    assert.equal(delayed.status, 200);
    assert.equal(rig.client.stats().local_replies_di_total, before + 1);
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 1);
  });

  test('CORS: an allowed preflight is answered by the sidecar; an actual request gets the allow headers; another origin\'s preflight is forwarded', async () => {
    rig.apply(vs(`
  - corsPolicy:
      allowOrigins: [{ exact: "https://a.example" }]
      allowMethods: [GET, POST]
      allowHeaders: [x-h]
      exposeHeaders: [x-app-version]
      maxAge: 3600s
      allowCredentials: true
    route: [{ destination: { host: reviews } }]
`));
    const { httpRequest } = await import('./helpers.js');
    const pre = await httpRequest(rig.outboundPort, { path: '/c', method: 'OPTIONS', headers: { host: 'reviews.default:9080', origin: 'https://a.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://a.example');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 0);
    const actual = await rig.get('/c', { origin: 'https://a.example' });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://a.example');
    assert.equal(actual.headers['access-control-expose-headers'], 'x-app-version');
    const other = await rig.get('/c', { origin: 'https://evil.example' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const forwarded = await httpRequest(rig.outboundPort, { path: '/c', method: 'OPTIONS', headers: { host: 'reviews.default:9080', origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(forwarded.status, 200);
    assert.equal(forwarded.headers['access-control-allow-origin'], undefined);
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 3);
  });

  test('mirroring sends a copy to the mirror destination; its failure does not touch the request', async () => {
    rig.workloads[1]!.behaviour.status = 500;
    rig.apply(vs(`
  - route: [{ destination: { host: reviews, subset: v1 } }]
    mirror: { host: reviews, subset: v2 }
    mirrorPercentage: { value: 100 }
`));
    try {
      for (let i = 0; i < 5; i++) {
        const r = await rig.get(`/m/${i}`);
        assert.equal(r.status, 200);
        assert.equal(versionOf(r.body), 'v1');
      }
      await hitsReach(rig.workloads[1]!, 5);
      assert.equal(rig.workloads[0]!.hits, 5);
    } finally {
      rig.workloads[1]!.behaviour.status = 200;
    }
  });

  test('hostile input: a huge header value against a regex match, a long path under a regex route, many routes', async () => {
    const routes = Array.from({ length: 500 }, (_, i) => `  - match: [{ uri: { exact: /r${i} } }]\n    route: [{ destination: { host: reviews, subset: v1 } }]\n`).join('');
    rig.apply(vs(`
  - match: [{ headers: { x-user: { regex: "[a-z]+" } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ uri: { regex: "/deep(/[a-z0-9]*)?" } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
${routes}`));
    const hostile = await rig.get('/r499', { 'x-user': `${'a'.repeat(7000)}!` });
    assert.equal(hostile.status, 200);
    assert.equal(versionOf(hostile.body), 'v1');
    const long = await rig.get(`/deep/${'a'.repeat(7000)}!`);
    assert.equal(long.status, 404);
    assert.equal((await rig.get('/r500')).status, 404);
    assert.equal((await rig.get('/deep/abc')).status, 200);
  });
});
