// The per-request cost of Istio's metrics (issue 10 §6): recordRequest on a warm handle (the
// proxy's path: one handle per caller-destination pair, looked up once), recordRequest with a
// label object (a handle lookup per call), and a scrape of the resulting registry.
//
//   npm run bench:telemetry        (= node --import tsx bench/telemetry/run.ts)
//   env: N=2000000 (calls per measurement)
import { IstioMetrics, peerLabels } from '../../src/telemetry/metrics/index.js';

const N = Number(process.env.N ?? 2_000_000);
const productpage = { service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, principal: 'spiffe://cluster.local/ns/default/sa/productpage' };
const reviews = { service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2' }, principal: 'spiffe://cluster.local/ns/default/sa/reviews' };
const codes = [200, 200, 200, 200, 200, 200, 404, 503];

function opsPerSecond(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 100_000); i++) fn(i); // warm the cache and the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start);
  process.stdout.write(`${label.padEnd(52)} ${Math.round((n / ns) * 1e9).toLocaleString('en-US').padStart(12)} ops/s  ${(ns / n).toFixed(0).padStart(6)} ns/op\n`);
}

const m = new IstioMetrics();
const labels = peerLabels({ reporter: 'source', source: productpage, destination: reviews });
const handle = m.peer(labels);
opsPerSecond('recordRequest, warm handle', N, (i) => handle.recordRequest({ protocol: 'http', responseCode: codes[i & 7]! }, (i % 300) + 0.3, 300, 4000));
opsPerSecond('recordRequest, labels looked up per call', N / 10, (i) => m.recordRequest(labels, { protocol: 'http', responseCode: codes[i & 7]! }, 3, 300, 4000));
opsPerSecond('recordTcpBytes, warm handle', N, (i) => handle.recordTcpBytes(i & 1023, 17));
const start = process.hrtime.bigint();
const text = await m.metrics();
process.stdout.write(`scrape of ${m.seriesCount.http} HTTP + ${m.seriesCount.tcp} TCP series: ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(2)} ms, ${text.length} bytes\n`);

const big = new IstioMetrics();
for (let c = 0; c < 1000; c++) {
  big.recordRequest(peerLabels({ reporter: 'destination', source: { service: `caller${c}`, namespace: 'ns', principal: `spiffe://td/ns/ns/sa/caller${c}` }, destination: reviews, mutualTls: true }), { protocol: 'http', responseCode: 200 }, 1, 1, 1);
}
const s2 = process.hrtime.bigint();
let bytes = 0;
let largest = 0;
for (const chunk of big.chunks()) {
  bytes += chunk.length;
  largest = Math.max(largest, chunk.length);
}
process.stdout.write(`scrape of ${big.seriesCount.http} HTTP series (streamed): ${(Number(process.hrtime.bigint() - s2) / 1e6).toFixed(1)} ms, ${(bytes / 1e6).toFixed(1)} MB, largest chunk ${(largest / 1e6).toFixed(2)} MB\n`);
