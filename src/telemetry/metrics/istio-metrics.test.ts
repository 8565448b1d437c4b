import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ENVOY_DEFAULT_BUCKETS, HTTP_LABEL_NAMES, IstioMetrics, peerLabels, TCP_LABEL_NAMES, workloadLabelValues, type PeerLabels } from './index.js';

interface Sample { name: string; labels: [string, string][]; value: number }

/** The sample lines of Prometheus text, with their labels in order. */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!] as [string, string]);
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const productpage = { service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, principal: 'spiffe://cluster.local/ns/default/sa/productpage' };
const reviews = { service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2' }, principal: 'spiffe://cluster.local/ns/default/sa/reviews' };
const outbound = (): PeerLabels => peerLabels({ reporter: 'source', source: productpage, destination: reviews });

describe('Istio metrics: names, labels, buckets', () => {
  test('every HTTP series carries all 25 labels in Istio order, with unknown/latest/empty as Istio writes them', async () => {
    const m = new IstioMetrics({ version: '0.1.0' });
    m.peer(outbound()).recordRequest({ protocol: 'http', responseCode: 200 }, 7, 100, 2000);
    m.peer(peerLabels({ reporter: 'destination', source: { principal: 'spiffe://cluster.local/ns/other/sa/client' }, destination: reviews, mutualTls: true })).recordRequest({ protocol: 'grpc', responseCode: 200, grpcStatus: 14, responseFlags: 'UF,URX' }, 3, 1, 1);
    const all = samples(await m.metrics());
    const req = all.filter((s) => s.name === 'istio_requests_total');
    assert.equal(req.length, 2);
    for (const s of all.filter((x) => x.name.startsWith('istio_request'))) {
      const names = s.labels.map(([k]) => k).filter((k) => k !== 'le');
      assert.deepEqual(names, [...HTTP_LABEL_NAMES], s.name);
    }
    const src = Object.fromEntries(req[0]!.labels);
    assert.equal(src.reporter, 'source');
    assert.equal(src.source_workload, 'productpage-v1');
    assert.equal(src.source_canonical_service, 'productpage');
    assert.equal(src.source_canonical_revision, 'v1');
    assert.equal(src.destination_service, 'reviews.default.svc.cluster.local');
    assert.equal(src.destination_service_name, 'reviews');
    assert.equal(src.destination_workload, 'reviews-v2');
    assert.equal(src.source_cluster, 'unknown');
    assert.equal(src.response_code, '200');
    assert.equal(src.grpc_response_status, '');
    assert.equal(src.response_flags, '-');
    assert.equal(src.connection_security_policy, 'unknown');
    assert.equal(src.request_protocol, 'http');
    const dst = Object.fromEntries(req[1]!.labels);
    assert.equal(dst.reporter, 'destination');
    assert.equal(dst.source_workload, 'client', 'a peer known only by its SVID: the service account names it');
    assert.equal(dst.source_workload_namespace, 'other');
    assert.equal(dst.source_app, 'unknown');
    assert.equal(dst.source_canonical_revision, 'latest');
    assert.equal(dst.source_principal, 'spiffe://cluster.local/ns/other/sa/client');
    assert.equal(dst.request_protocol, 'grpc');
    assert.equal(dst.grpc_response_status, '14');
    assert.equal(dst.response_flags, 'UF,URX');
    assert.equal(dst.connection_security_policy, 'mutual_tls');
  });

  test('the duration histogram has Envoy\'s 19 bounds plus +Inf, cumulative, with sum and count', async () => {
    const m = new IstioMetrics();
    const p = m.peer(outbound());
    for (const ms of [0.2, 7, 7, 4000, 5_000_000]) p.recordRequest({ protocol: 'http', responseCode: 503, responseFlags: 'UH' }, ms, 10, 20);
    const all = samples(await m.metrics());
    const buckets = all.filter((s) => s.name === 'istio_request_duration_milliseconds_bucket');
    assert.deepEqual(buckets.map((b) => b.labels.at(-1)![1]), [...ENVOY_DEFAULT_BUCKETS.map(String), '+Inf']);
    assert.equal(ENVOY_DEFAULT_BUCKETS.length, 19);
    const at = (le: string) => buckets.find((b) => b.labels.at(-1)![1] === le)!.value;
    assert.equal(at('0.5'), 1);
    assert.equal(at('5'), 1);
    assert.equal(at('10'), 3);
    assert.equal(at('5000'), 4);
    assert.equal(at('3600000'), 4);
    assert.equal(at('+Inf'), 5);
    assert.equal(all.find((s) => s.name === 'istio_request_duration_milliseconds_count')!.value, 5);
    assert.equal(all.find((s) => s.name === 'istio_request_duration_milliseconds_sum')!.value, 0.2 + 7 + 7 + 4000 + 5_000_000);
    assert.equal(all.find((s) => s.name === 'istio_request_bytes_sum')!.value, 50);
    assert.equal(all.find((s) => s.name === 'istio_response_bytes_sum')!.value, 100);
  });

  test('TCP series have the labels without response_code and grpc_response_status, protocol tcp', async () => {
    const m = new IstioMetrics();
    const p = m.peer(outbound());
    p.recordTcpOpen();
    p.recordTcpBytes(100, 40);
    p.recordTcpClose(5, 2);
    const all = samples(await m.metrics());
    const get = (n: string) => all.find((s) => s.name === n)!;
    for (const n of ['istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total', 'istio_tcp_connections_opened_total', 'istio_tcp_connections_closed_total']) {
      assert.deepEqual(get(n).labels.map(([k]) => k), [...TCP_LABEL_NAMES]);
      assert.equal(Object.fromEntries(get(n).labels).request_protocol, 'tcp');
    }
    assert.equal(get('istio_tcp_sent_bytes_total').value, 105);
    assert.equal(get('istio_tcp_received_bytes_total').value, 42);
    assert.equal(get('istio_tcp_connections_opened_total').value, 1);
    assert.equal(get('istio_tcp_connections_closed_total').value, 1);
  });

  test('istio_build names the component and version', async () => {
    const text = await new IstioMetrics({ component: 'pilot', version: '1.2.3' }).metrics();
    assert.match(text, /^istio_build\{component="pilot",tag="1\.2\.3"\} 1$/m);
  });

  test('unusual inputs never add series: codes out of range, odd flags, NaN sizes', async () => {
    const m = new IstioMetrics();
    const p = m.peer(outbound());
    p.recordRequest({ protocol: 'http', responseCode: 1234 }, Number.NaN, -1, Number.POSITIVE_INFINITY);
    p.recordRequest({ protocol: 'http', responseCode: 0, responseFlags: 'x"} evil' }, 1, 1, 1);
    p.recordRequest({ protocol: 'http', responseCode: 0, responseFlags: 'BOGUS' }, 1, 1, 1);
    const req = samples(await m.metrics()).filter((s) => s.name === 'istio_requests_total');
    assert.deepEqual(req.map((s) => [Object.fromEntries(s.labels).response_code, Object.fromEntries(s.labels).response_flags, s.value]), [['0', '-', 1], ['0', 'unknown', 1], ['0', 'BOGUS', 1]]);
  });

  test('a bad cap is a TypeError', () => {
    assert.throws(() => new IstioMetrics({ maxSeries: 0 }), TypeError);
  });
});

describe('cardinality bound', () => {
  test('10,000 requests with random paths from 1,000 callers stay within the cap; the rest are counted as dropped', async () => {
    const m = new IstioMetrics({ maxSeries: 200 });
    for (let i = 0; i < 10_000; i++) {
      const caller = `caller${i % 1000}`;
      // The path is never a label: only the caller and the outcome can make a series.
      void `/items/${Math.random()}`;
      m.recordRequest(peerLabels({ reporter: 'destination', source: { service: caller, namespace: 'ns', principal: `spiffe://td/ns/ns/sa/${caller}` }, destination: reviews, mutualTls: true }), { protocol: 'http', responseCode: 200 }, 1, 1, 1);
    }
    assert.equal(m.seriesCount.http, 200);
    const all = samples(await m.metrics());
    assert.equal(all.filter((s) => s.name === 'istio_requests_total').length, 200);
    const dropped = all.filter((s) => s.name === 'weft_metric_series_dropped_total');
    assert.deepEqual(dropped.map((d) => d.labels[0]![1]).sort(), ['istio_request_bytes', 'istio_request_duration_milliseconds', 'istio_requests_total', 'istio_response_bytes']);
    // Callers 0..199 (ten requests each) got the 200 series; the other 800 callers' requests are dropped.
    assert.ok(dropped.every((d) => d.value === 10_000 - 200 * 10), 'every observation of a caller past the cap is dropped');
  });

  test('replicas of one service and version share their series (no instance id in any label)', async () => {
    const m = new IstioMetrics();
    for (const replica of ['w-1', 'w-2', 'w-3']) {
      void replica;
      m.recordRequest(peerLabels({ reporter: 'source', source: productpage, destination: reviews }), { protocol: 'http', responseCode: 200 }, 1, 1, 1);
    }
    assert.equal(m.seriesCount.http, 1);
  });

  test('property: any sequence of outcomes never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.record({ code: fc.integer({ min: -5, max: 2000 }), grpc: fc.option(fc.integer({ min: -3, max: 40 })), flags: fc.option(fc.string()), caller: fc.nat(50) }), { maxLength: 200 }), (cap, events) => {
        const m = new IstioMetrics({ maxSeries: cap });
        for (const e of events) {
          m.recordRequest(peerLabels({ reporter: 'source', source: { service: `c${e.caller}` }, destination: reviews }), { protocol: e.grpc === null ? 'http' : 'grpc', responseCode: e.code, grpcStatus: e.grpc ?? undefined, responseFlags: e.flags ?? undefined }, 1, 1, 1);
        }
        return m.seriesCount.http <= cap;
      }),
    );
  });
});

describe('label values from what a sidecar knows', () => {
  test('canonical labels win, then app.kubernetes.io, then app/version, then the workload and latest', () => {
    assert.deepEqual(workloadLabelValues({ service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2', 'service.istio.io/canonical-name': 'rev', 'service.istio.io/canonical-revision': 'r7' } }), {
      workload: 'reviews-v2', namespace: 'default', principal: 'unknown', app: 'reviews', version: 'v2', canonicalService: 'rev', canonicalRevision: 'r7', cluster: 'unknown',
    });
    const k8s = workloadLabelValues({ service: 'reviews', labels: { 'app.kubernetes.io/name': 'rv', 'app.kubernetes.io/version': '2.0', app: 'reviews' } });
    assert.equal(k8s.canonicalService, 'rv');
    assert.equal(k8s.canonicalRevision, '2.0');
    const bare = workloadLabelValues({ service: 'details' });
    assert.equal(bare.workload, 'details');
    assert.equal(bare.canonicalService, 'details');
    assert.equal(bare.canonicalRevision, 'latest');
    assert.equal(bare.app, 'unknown');
    const nothing = workloadLabelValues({});
    assert.equal(nothing.workload, 'unknown');
    assert.equal(nothing.canonicalService, 'unknown');
  });

  test('the namespace comes from the peer\'s SPIFFE ID; a non-Istio-shaped ID gives unknown', () => {
    assert.equal(workloadLabelValues({ principal: 'spiffe://td/ns/shop/sa/cart' }).namespace, 'shop');
    assert.equal(workloadLabelValues({ principal: 'spiffe://td/ns/shop/sa/cart' }).workload, 'cart');
    assert.equal(workloadLabelValues({ principal: 'spiffe://td/some/other/path' }).namespace, 'unknown');
  });

  test('the destination reporter writes none for a plaintext caller; the source reporter always unknown', () => {
    assert.equal(peerLabels({ reporter: 'destination', source: {}, destination: reviews, mutualTls: false }).connectionSecurityPolicy, 'none');
    assert.equal(peerLabels({ reporter: 'source', source: productpage, destination: reviews, mutualTls: true }).connectionSecurityPolicy, 'unknown');
  });

  test('label values are bounded in length', () => {
    assert.equal(workloadLabelValues({ service: 'x'.repeat(10_000) }).workload.length, 256);
  });
});
