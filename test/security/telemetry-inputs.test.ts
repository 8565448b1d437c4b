// Hostile shapes against the observability building blocks: format strings with thousands of
// operators or a megabyte of text, trace headers that are oversized, malformed or repeated, label
// values an attacker controls, and a flood of scrapes. Each is bounded and fails closed; nothing
// throws anything but the typed error, nothing grows without bound.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AccessLogFormatError, compileAccessLogFormat, compileTextFormat } from '../../src/telemetry/access-log/index.js';
import { extractTrace, decideHop, traceHeaders, parseTracestate } from '../../src/telemetry/tracing/index.js';
import { IstioMetrics, peerLabels, PrometheusExposition } from '../../src/telemetry/metrics/index.js';
import { ControlPlaneMetrics, listenMetrics } from '../../src/controlplane/metrics.js';
import { startAdmin } from '../../src/sidecar/admin.js';

describe('access log formats an operator may write', () => {
  test('thousands of operators, a megabyte of text, deep parentheses: refused with the typed error, quickly bounded by size', () => {
    for (const f of ['%PROTOCOL%'.repeat(5000), `${'a'.repeat(1_000_000)}%PROTOCOL%`, `%REQ(${'('.repeat(100_000)})%`, '%'.repeat(100_000)]) {
      assert.throws(() => compileAccessLogFormat({ accessLogFormat: f }), AccessLogFormatError);
    }
    assert.throws(() => compileAccessLogFormat({ accessLogEncoding: 'JSON', accessLogFormat: JSON.stringify(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, '%PROTOCOL%']))) }), AccessLogFormatError);
  });

  test('a request with a megabyte header and control characters writes one bounded line', () => {
    const f = compileTextFormat('%REQ(:PATH)% %REQ(USER-AGENT)% %REQ(X-A)%');
    const line = f({ startTime: 0, requestHeaders: { ':path': `/${'p'.repeat(1_000_000)}`, 'user-agent': 'a\r\nforged: line', 'x-a': Array.from({ length: 10_000 }, () => 'v') } });
    assert.ok(line.length < 3 * 4096 + 10, `line of ${line.length}`);
    assert.ok(!line.includes('\n') && !line.includes('\r'));
  });

  test('property: any record values give one line without a newline', () => {
    const f = compileAccessLogFormat({});
    fc.assert(fc.property(fc.dictionary(fc.constantFrom(':method', ':path', ':authority', 'user-agent', 'x-request-id', 'x-forwarded-for'), fc.string({ maxLength: 300 })), fc.string(), (headers, details) => {
      const line = f({ startTime: 0, requestHeaders: headers, responseCodeDetails: details });
      return !/[\r\n]/.test(line);
    }));
  });
});

describe('trace headers a caller may send', () => {
  const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
  test('oversized, malformed and repeated headers start a fresh trace, never throw, and nothing of them is passed on', () => {
    const hostile = [
      { traceparent: `00-${TID}-${'a'.repeat(16)}-01${'-x'.repeat(500_000)}` },
      { traceparent: [`00-${TID}-${'a'.repeat(16)}-01`, `00-${'b'.repeat(32)}-${'a'.repeat(16)}-01`] },
      { b3: 'x'.repeat(1_000_000) },
      { b3: [`${TID}-${'a'.repeat(16)}-1`, `${TID}-${'a'.repeat(16)}-1`] },
      { 'x-b3-traceid': 'z'.repeat(32), 'x-b3-spanid': '1'.repeat(16) },
      { 'x-request-id': 'r'.repeat(100_000) },
    ];
    for (const h of hostile) {
      const t = extractTrace(h);
      assert.equal(t.traceId, undefined, JSON.stringify(Object.keys(h)));
      const { set } = traceHeaders(decideHop(t, 1));
      assert.ok(Object.values(set).every((v) => v.length <= 512), 'what is passed on is bounded');
    }
    assert.equal(parseTracestate('a=b,'.repeat(100_000)), undefined);
    const big = parseTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=${'v'.repeat(250)}`).join(','));
    assert.ok(big !== undefined);
    const passed = traceHeaders(decideHop({ ...extractTrace({ traceparent: `00-${TID}-${'a'.repeat(16)}-01` }), tracestate: big }, 1)).set.tracestate;
    assert.equal(passed, undefined, 'members over 128 characters are dropped first, leaving none');
  });

  test('property: extraction never throws on any header values', () => {
    const header = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.string({ maxLength: 60 }), { maxLength: 4 }));
    fc.assert(fc.property(fc.record({ traceparent: header, tracestate: header, b3: header, 'x-b3-traceid': header, 'x-b3-spanid': header, 'x-b3-sampled': header, 'x-b3-flags': header, 'x-request-id': header }, { requiredKeys: [] }), (h) => {
      const hop = decideHop(extractTrace(h), 50);
      return /^[0-9a-f]{32}$/.test(hop.traceId) && /^[0-9a-f]{16}$/.test(hop.spanId);
    }));
  });
});

describe('metric labels and scrapes', () => {
  test('label values a peer controls (long, quotes, newlines) are bounded and escaped; the text stays parseable', async () => {
    const m = new IstioMetrics();
    m.recordRequest(peerLabels({ reporter: 'destination', source: { service: `a"b\\c\nd${'x'.repeat(5000)}`, labels: { version: '"}\n{' } }, destination: { service: 'd' }, mutualTls: true }), { protocol: 'http', responseCode: 200 }, 1, 1, 1);
    const text = await m.metrics();
    for (const line of text.split('\n').filter((l) => l.startsWith('istio_requests_total'))) {
      assert.match(line, /^istio_requests_total\{(?:[a-z_]+="(?:[^"\\\n]|\\.)*",?)+\} \d+$/);
      assert.ok(line.length < 8_000);
    }
  });

  test('scrapes beyond two at once are answered 503 at once instead of rendering', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = { async *textChunks() { await gate; yield 'x 1\n'; } };
    const e = new PrometheusExposition([slow], { maxConcurrent: 2 });
    const server = createServer((_req, res) => e.serve(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const pending = Array.from({ length: 10 }, () => get(port, '/'));
      for (let i = 0; i < 500 && e.stats.refused < 8; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(e.stats, { renders: 2, refused: 8 });
      release();
      const statuses = await Promise.all(pending);
      assert.deepEqual(statuses.sort(), [200, 200, 503, 503, 503, 503, 503, 503, 503, 503]);
      assert.equal(await get(port, '/'), 200, 'a scrape after the flood renders');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a registry at a high series cap streams in bounded chunks, never one giant string', () => {
    const m = new IstioMetrics({ maxSeries: 2000 });
    for (let c = 0; c < 2000; c++) m.recordRequest(peerLabels({ reporter: 'source', source: { service: `caller-${c}` }, destination: { service: 'd', namespace: 'n' } }), { protocol: 'http', responseCode: 200 }, 1, 1, 1);
    let chunks = 0;
    let largest = 0;
    for (const chunk of m.chunks()) {
      chunks++;
      largest = Math.max(largest, chunk.length);
    }
    assert.ok(chunks >= 4 * (2000 / 32), `${chunks} chunks`);
    assert.ok(largest < 2_000_000, `largest chunk ${largest}`);
  });

  async function get(port: number, path: string, method = 'GET'): Promise<number> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, method, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  test('the control plane metrics port: /metrics only, GET only, connections capped; a scrape flood leaves it serving', async () => {
    const metrics = new ControlPlaneMetrics({ connectedProxies: () => 3, resourcesByKind: () => ({ MeshConfig: 1 }), registry: () => ({ workloads: 3, services: 2, endpoints: 3 }), rootNotAfter: () => Date.now() + 1e9 });
    const l = await listenMetrics('127.0.0.1', 0, metrics, { limits: { maxConnections: 20, handshakeTimeoutMs: 2_000 } });
    try {
      assert.equal(await get(l.port, '/metrics'), 200);
      assert.equal(await get(l.port, '/v1/status'), 404);
      assert.equal(await get(l.port, '/metrics', 'POST'), 405);
      const statuses = await Promise.all(Array.from({ length: 200 }, () => get(l.port, '/metrics')));
      assert.ok(statuses.every((s) => s === 200 || s === 503 || s === 0), 'every answer is a full scrape, a 503 or a refused connection');
      assert.ok(statuses.some((s) => s === 200));
      assert.equal(await get(l.port, '/metrics'), 200, 'still serving after the flood');
    } finally {
      await l.close();
    }
  });

  test('the sidecar admin /stats/prometheus under a scrape flood keeps answering', async () => {
    const istio = new IstioMetrics();
    const admin = await startAdmin('127.0.0.1', 0, { ready: () => true, certs: () => ({}), stats: () => ({ requests_total: 1, sessions: 2 }), rotations: () => 0, certNotAfter: () => undefined, config: () => ({}), istio }, { limits: { maxConnections: 20, handshakeTimeoutMs: 2_000 } });
    try {
      const statuses = await Promise.all(Array.from({ length: 200 }, () => get(admin.port, '/stats/prometheus')));
      assert.ok(statuses.every((s) => s === 200 || s === 503 || s === 0));
      assert.equal(await get(admin.port, '/stats/prometheus'), 200);
    } finally {
      await new Promise<void>((resolve) => admin.server.close(() => resolve()));
    }
  });
});
