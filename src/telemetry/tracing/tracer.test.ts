import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { startOtlpReceiver } from '../../../test/helpers/otlp-receiver.js';
import { decideHop, extractTrace, hopSpanName, MeshTracer, traceHeaders, tracingSettings, type TraceHeaders } from './index.js';

/** One sidecar hop: read the headers, decide, make the span, and give the next hop its headers. */
function hop(tracer: MeshTracer, kind: 'client' | 'server', headers: TraceHeaders, service: string) {
  const ctx = decideHop(extractTrace(headers), 100);
  const span = kind === 'client' ? tracer.clientSpan(ctx, hopSpanName(`${service}.default.svc.cluster.local`, 9080), { 'istio.canonical_service': service }) : tracer.serverSpan(ctx, hopSpanName(`${service}.default.svc.cluster.local`, 9080), { 'istio.canonical_service': service });
  return { span, next: traceHeaders(ctx).set };
}

describe('spans exported over OTLP/HTTP', () => {
  test('a three-hop call gives client and server spans that chain parent to child', async () => {
    const receiver = await startOtlpReceiver();
    after(() => receiver.close());
    const tracer = new MeshTracer({ serviceName: 'productpage.default', collector: { url: receiver.url }, scheduledDelayMs: 50 });
    // productpage's sidecar (client) -> reviews' sidecar (server) -> reviews' sidecar (client) -> ratings' sidecar (server)
    const a = hop(tracer, 'client', {}, 'reviews');
    const b = hop(tracer, 'server', a.next, 'reviews');
    const c = hop(tracer, 'client', b.next, 'ratings');
    const d = hop(tracer, 'server', c.next, 'ratings');
    for (const h of [d, c, b, a]) h.span.end({ responseCode: 200, responseFlags: '-' });
    await tracer.flush();
    const spans = await receiver.waitForSpans(4);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const [sa, sb, sc, sd] = [a, b, c, d].map((h) => byId.get(h.span.spanId)!);
    assert.ok(sa && sb && sc && sd, 'every hop exported its span with the id its headers named');
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');
    assert.equal(sa.parentSpanId, undefined, 'the first hop is the root');
    assert.equal(sb.parentSpanId, sa.spanId);
    assert.equal(sc.parentSpanId, sb.spanId);
    assert.equal(sd.parentSpanId, sc.spanId);
    assert.deepEqual([sa.kind, sb.kind, sc.kind, sd.kind], [3, 2, 3, 2], 'client, server, client, server');
    assert.equal(sa.name, 'reviews.default.svc.cluster.local:9080/*');
    assert.equal(sd.name, 'ratings.default.svc.cluster.local:9080/*');
    assert.equal(sa.attributes['http.status_code'], '200');
    assert.equal(sa.attributes['istio.canonical_service'], 'reviews');
    assert.equal(sa.serviceName, 'productpage.default');
    assert.equal(typeof sa.attributes['guid:x-request-id'], 'string');
    await tracer.shutdown();
  });

  test('unsampled requests send nothing', async () => {
    const receiver = await startOtlpReceiver();
    after(() => receiver.close());
    const tracer = new MeshTracer({ serviceName: 's.default', collector: { url: receiver.url }, scheduledDelayMs: 50 });
    const ctx = decideHop(extractTrace({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }), 100);
    const span = tracer.serverSpan(ctx, 'x:1/*');
    span.end({ responseCode: 200 });
    await tracer.flush();
    await tracer.shutdown();
    assert.equal(span.sampled, false);
    assert.equal(tracer.stats.spansStarted, 0);
    assert.equal(receiver.requests, 0);
  });
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('a collector that is slow or down never holds a request', () => {
  for (const kind of ['accepts and never answers', 'is down'] as const) {
    test(`collector ${kind}: span calls return at once, the queue stays bounded, the excess is counted as dropped`, async () => {
      const receiver = kind === 'is down' ? undefined : await startOtlpReceiver({ mode: 'hang' });
      const url = receiver?.url ?? `http://127.0.0.1:${await closedPort()}/v1/traces`;
      const tracer = new MeshTracer({ serviceName: 's.default', collector: { url, timeoutMs: 1000 }, maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMs: 10 });
      for (let i = 0; i < 5000; i++) {
        const span = tracer.clientSpan(decideHop(extractTrace({}), 100), 'reviews.default.svc.cluster.local:9080/*');
        // Ending is synchronous: it returns nothing to wait on, and the span has reached the
        // processor (queued, handed to the one export in flight, or dropped) when it returns.
        assert.equal(span.end({ responseCode: 200 }) as unknown, undefined);
        assert.equal(tracer.stats.spansEnded, i + 1);
        assert.ok(tracer.queued <= 100, `queued ${tracer.queued}`);
      }
      assert.equal(tracer.stats.spansStarted, 5000);
      // The loop never yields, so one batch of 10 left for the collector and the queue kept 100.
      assert.equal(tracer.stats.spansDropped, 5000 - 100 - 10);
      await tracer.flush().catch(() => {});
      await tracer.shutdown().catch(() => {});
      await receiver?.close();
    });
  }
});

describe('MeshConfig tracing settings', () => {
  test('the named opentelemetry provider gives the collector URL, timeout and headers', () => {
    const s = tracingSettings({
      extensionProviders: [{ name: 'authz' }, { name: 'otel', opentelemetry: { service: 'observability/otel-collector.example', port: 4318, maxTagLength: 99, http: { path: '/otlp/v1/traces', timeout: '2s', headers: [{ name: 'x-tenant', value: 'a' }] } } }],
      defaultProviders: { tracing: ['otel'] },
      defaultConfig: { tracing: { sampling: 25 } },
    });
    assert.deepEqual(s, { samplingPercent: 25, collector: { url: 'http://otel-collector.example:4318/otlp/v1/traces', timeoutMs: 2000, headers: { 'x-tenant': 'a' } }, maxTagLength: 99 });
  });

  test('without defaultProviders the only provider is used; none, or several unnamed: no collector', () => {
    assert.equal(tracingSettings({ extensionProviders: [{ name: 'o', opentelemetry: { service: '127.0.0.1', port: 4318 } }] }).collector?.url, 'http://127.0.0.1:4318/v1/traces');
    assert.equal(tracingSettings({}).collector, undefined);
    assert.equal(tracingSettings({ extensionProviders: [{ name: 'a', opentelemetry: { service: 'a', port: 1 } }, { name: 'b', opentelemetry: { service: 'b', port: 1 } }] }).collector, undefined);
  });
});
