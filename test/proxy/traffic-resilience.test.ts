// Timeouts, retries, circuit breaking and outlier detection through real sidecars: a client
// sidecar with a compiled traffic configuration in front of two workloads of reviews.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startTrafficRig, type TrafficRig } from './traffic-rig.js';

const rule = (trafficPolicy: string): string => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy:
${trafficPolicy}
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

const ROUND_ROBIN = '    loadBalancer: { simple: ROUND_ROBIN }';

const route = (extra: string): string => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews } }]
${extra}`;

describe('timeouts, retries, circuit breaking and outlier detection through the sidecar', () => {
  let rig: TrafficRig;
  before(async () => {
    rig = await startTrafficRig(['v1', 'v2']);
  });
  after(async () => {
    await rig?.close();
  });
  beforeEach(() => {
    rig.resetHits();
    for (const w of rig.workloads) Object.assign(w.behaviour, { status: 200, delayMs: 0 });
  });

  test('the route timeout answers 504 with flag UT when the app is slower', async () => {
    for (const w of rig.workloads) w.behaviour.delayMs = 3_000;
    rig.apply(rule(ROUND_ROBIN) + route('    timeout: 200ms\n'));
    const r = await rig.get('/slow');
    assert.equal(r.status, 504);
    assert.match(String(r.headers['x-weft-proxy-error']), /^UT WEFT_PROXY_UPSTREAM_TIMEOUT: upstream request timeout \(route timeout 200 ms\)/);
  });

  test('a per-try timeout moves the request to another endpoint; without a retry left it is 504 UT', async () => {
    rig.workloads[0]!.behaviour.delayMs = 3_000;
    rig.apply(rule(ROUND_ROBIN) + route('    retries: { attempts: 2, perTryTimeout: 300ms, retryOn: 5xx }\n'));
    for (let i = 0; i < 4; i++) {
      const r = await rig.get(`/pt/${i}`);
      assert.equal(r.status, 200, `request ${i}`);
      assert.equal(r.headers['x-app-version'], 'v2');
    }
    rig.workloads[1]!.behaviour.delayMs = 3_000;
    const r = await rig.get('/pt/all-slow');
    assert.equal(r.status, 504);
    assert.match(String(r.headers['x-weft-proxy-error']), /^UT WEFT_PROXY_UPSTREAM_TIMEOUT: upstream request timeout \(per-try timeout 300 ms\)/);
  });

  test('a 503 is not retried by default', async () => {
    rig.workloads[0]!.behaviour.status = 503;
    rig.apply(rule(ROUND_ROBIN) + route(''));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await rig.get(`/d/${i}`)).status);
    assert.ok(statuses.includes(503), `statuses ${statuses.join(',')}`);
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 10);
  });

  for (const retryOn of ['5xx', '503']) {
    test(`retryOn: ${retryOn} retries a 503 on the other endpoint`, async () => {
      rig.workloads[0]!.behaviour.status = 503;
      rig.apply(rule(ROUND_ROBIN) + route(`    retries: { attempts: 2, retryOn: "${retryOn}" }\n`));
      for (let i = 0; i < 10; i++) {
        const r = await rig.get(`/retry/${i}`);
        assert.equal(r.status, 200, `request ${i}`);
        assert.equal(r.headers['x-app-version'], 'v2');
      }
      assert.ok(rig.workloads[0]!.hits >= 1, 'the failing endpoint was tried');
    });
  }

  test('a body up to the retry buffer is sent again on a retry; a larger one is not retried', async () => {
    rig.workloads[0]!.behaviour.status = 503;
    rig.apply(rule(ROUND_ROBIN) + route('    retries: { attempts: 2, retryOn: 5xx }\n'));
    const { httpRequest } = await import('./helpers.js');
    const post = (body: Buffer) => httpRequest(rig.outboundPort, { path: '/post', method: 'POST', headers: { host: 'reviews.default:9080' }, body });
    for (let i = 0; i < 4; i++) {
      const r = await post(Buffer.alloc(10_000, 0x61));
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body.toString()) as { bodyBytes: number }).bodyBytes, 10_000);
    }
    rig.resetHits();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(Buffer.alloc(200_000, 0x62))).status);
    assert.ok(statuses.includes(503), `statuses ${statuses.join(',')}`);
    assert.equal(rig.workloads.reduce((n, w) => n + w.hits, 0), 4);
  });

  test('circuit breaking: http2MaxRequests 1 refuses concurrent requests with 503 UO and x-envoy-overloaded', async () => {
    for (const w of rig.workloads) w.behaviour.delayMs = 300;
    rig.apply(rule('    connectionPool: { http: { http2MaxRequests: 1 } }') + route(''));
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => rig.get(`/cb/${i}`)));
    const overloaded = replies.filter((r) => r.status === 503);
    assert.ok(replies.some((r) => r.status === 200), 'one request got through');
    assert.ok(overloaded.length >= 1, `statuses ${replies.map((r) => r.status).join(',')}`);
    for (const r of overloaded) {
      assert.equal(r.headers['x-envoy-overloaded'], 'true');
      assert.match(String(r.headers['x-weft-proxy-error']), /^UO WEFT_PROXY_OVERFLOW/);
    }
    // The slot is given back: a later request goes through.
    assert.equal((await rig.get('/cb/after')).status, 200);
  });

  test('consistent hashing on a header keeps each user on one endpoint; a ttl cookie is generated and set', async () => {
    rig.apply(rule('    loadBalancer: { consistentHash: { httpHeaderName: x-user } }') + route(''));
    for (const user of ['ann', 'bob', 'cy', 'dee']) {
      const versions = new Set<string>();
      for (let i = 0; i < 8; i++) versions.add(String((await rig.get(`/h/${i}`, { 'x-user': user })).headers['x-app-version']));
      assert.equal(versions.size, 1, `${user} went to ${[...versions].join(',')}`);
    }
    rig.apply(rule('    loadBalancer: { consistentHash: { httpCookie: { name: affinity, ttl: 60s } } }') + route(''));
    const first = await rig.get('/c');
    const setCookie = (first.headers['set-cookie'] ?? []).find((c) => c.startsWith('affinity='));
    assert.ok(setCookie, `set-cookie ${JSON.stringify(first.headers['set-cookie'])}`);
    const cookie = setCookie.split(';')[0]!;
    for (let i = 0; i < 6; i++) assert.equal((await rig.get('/c', { cookie })).headers['x-app-version'], first.headers['x-app-version']);
  });

  test('outlier detection ejects an endpoint answering 500: later requests avoid it', async () => {
    rig.workloads[0]!.behaviour.status = 500;
    rig.apply(rule(`${ROUND_ROBIN}
    outlierDetection: { consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }`) + route('    retries: { attempts: 0 }\n'));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await rig.get(`/od/${i}`)).status);
    assert.equal(statuses.filter((s) => s === 500).length, 2, `statuses ${statuses.join(',')}`);
    rig.resetHits();
    for (let i = 0; i < 10; i++) assert.equal((await rig.get(`/od/after/${i}`)).status, 200);
    assert.equal(rig.workloads[0]!.hits, 0);
    assert.equal(rig.workloads[1]!.hits, 10);
  });
});
