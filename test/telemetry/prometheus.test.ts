// A real Prometheus scrapes a running control plane's /metrics, two sidecars' /stats/prometheus
// and an Istio metrics registry fed with requests; PromQL over its HTTP API sees Istio's names
// and labels, the control plane's push, convergence and CA figures, and the process metrics.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { freePort, startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';
import { PROMETHEUS_BIN, startPrometheus, type Prometheus } from '../helpers/prometheus.js';
import { IstioMetrics, peerLabels } from '../../src/telemetry/metrics/index.js';

describe('a real Prometheus scrapes the mesh', { timeout: 300_000, skip: existsSync(PROMETHEUS_BIN) ? false : `${PROMETHEUS_BIN} is not installed (.ci/run installs it)` }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let workloads: Workload[];
  let prom: Prometheus;
  let metricsPort: number;
  const istio = new IstioMetrics({ version: 'test' });
  const registryServer = createServer((_req, res) => void istio.metrics().then((t) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(t)));

  before(async () => {
    metricsPort = await freePort();
    mesh = await startControlPlane(join(tmp.dir, 'data'), ['--metrics', `127.0.0.1:${metricsPort}`]);
    workloads = [await startWorkload(mesh, { service: 'productpage' }), await startWorkload(mesh, { service: 'details' })];
    // Requests as the proxy will record them: 30 from productpage to details (25 OK, 5 failed
    // with UF), 10 seen by details as the destination, with latencies from 1 to 300 ms.
    const pp = { service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, principal: 'spiffe://cluster.local/ns/default/sa/productpage' };
    const details = { service: 'details', namespace: 'default', labels: { app: 'details', version: 'v1' }, principal: 'spiffe://cluster.local/ns/default/sa/details' };
    const out = istio.peer(peerLabels({ reporter: 'source', source: pp, destination: details }));
    for (let i = 0; i < 25; i++) out.recordRequest({ protocol: 'http', responseCode: 200 }, 1 + i * 12, 120, 900);
    for (let i = 0; i < 5; i++) out.recordRequest({ protocol: 'http', responseCode: 503, responseFlags: 'UF' }, 2, 120, 91);
    const inbound = istio.peer(peerLabels({ reporter: 'destination', source: pp, destination: details, mutualTls: true }));
    for (let i = 0; i < 10; i++) inbound.recordRequest({ protocol: 'http', responseCode: 200 }, 3, 120, 900);
    inbound.recordTcpOpen();
    inbound.recordTcpClose(4096, 512);
    await new Promise<void>((resolve) => registryServer.listen(0, '127.0.0.1', resolve));
    prom = await startPrometheus(tmp.dir, [
      { name: 'weft-control-plane', path: '/metrics', targets: [`127.0.0.1:${metricsPort}`] },
      { name: 'weft-sidecar', path: '/stats/prometheus', targets: workloads.map((w) => `127.0.0.1:${w.adminPort}`) },
      { name: 'istio-registry', path: '/stats/prometheus', targets: [`127.0.0.1:${(registryServer.address() as { port: number }).port}`] },
    ]);
  });

  after(async () => {
    await prom?.stop();
    await stop(mesh?.procs ?? []);
    registryServer.close();
    tmp.cleanup();
  });

  test('every target is up: the text of each parses', async () => {
    const up = await prom.until('up', (r) => r.length === 4 && r.every((s) => s.value === 1));
    assert.deepEqual(up.map((s) => s.metric.job).sort(), ['istio-registry', 'weft-control-plane', 'weft-sidecar', 'weft-sidecar']);
  });

  test('the control plane: pilot_xds counts the connected sidecars; every sidecar got a certificate', async () => {
    await prom.until('pilot_xds', (r) => r.length === 1 && r[0]!.value === workloads.length);
    await prom.until('citadel_server_success_cert_issuance_count', (r) => r.length === 1 && r[0]!.value >= workloads.length);
    await prom.until('citadel_server_csr_count', (r) => r.length === 1 && r[0]!.value >= workloads.length);
    const expiry = await prom.until('citadel_server_root_cert_expiry_timestamp', (r) => r.length === 1);
    assert.ok(expiry[0]!.value > Date.now() / 1000, 'the root expires in the future');
    await prom.until('weft_registry_workloads', (r) => r[0]?.value === 2);
    await prom.until('pilot_services', (r) => r[0]?.value === 2);
    await prom.until('istio_build{component="pilot"}', (r) => r.length === 1);
  });

  test('a configuration change is pushed and converges: pushes and the convergence histogram move', async () => {
    const policy = join(tmp.dir, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-all, namespace: default}\nspec:\n  rules: [{}]\n');
    const applied = await runWeft(['apply', '--config', join(mesh.dataDir, 'admin.conf'), '-f', policy]);
    assert.equal(applied.code, 0, applied.stderr);
    await prom.until('weft_config_resources{kind="AuthorizationPolicy"}', (r) => r[0]?.value === 1);
    await prom.until('pilot_proxy_convergence_time_count', (r) => (r[0]?.value ?? 0) >= workloads.length);
    await prom.until('pilot_xds_pushes{type="snapshot"}', (r) => (r[0]?.value ?? 0) >= 2 * workloads.length);
  });

  test('process metrics on both: CPU, RSS, heap, event-loop delay, open descriptors', async () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'process_open_fds']) {
      const r = await prom.until(name, (x) => x.filter((s) => s.metric.job !== 'istio-registry').length === 3);
      assert.ok(r.every((s) => s.value >= 0), name);
    }
  });

  test('sidecars: istio_build and the proxy\'s counters as weft_proxy_*', async () => {
    await prom.until('istio_build{component="proxy",job="weft-sidecar"}', (r) => r.length === 2 && r.every((s) => s.value === 1));
    await prom.until('weft_proxy_admin_connections_refused_total', (r) => r.length === 2);
    await prom.until('weft_sidecar_svid_expiration_timestamp_seconds', (r) => r.length === 2);
  });

  test('Istio\'s request metrics: counts per source, destination and code; a latency quantile; TCP bytes', async () => {
    const byCode = await prom.until('sum by (source_workload, destination_workload, response_code, response_flags) (istio_requests_total{reporter="source"})', (r) => r.length === 2);
    const get = (code: string) => byCode.find((s) => s.metric.response_code === code)!;
    assert.equal(get('200').value, 25);
    assert.equal(get('200').metric.source_workload, 'productpage-v1');
    assert.equal(get('200').metric.destination_workload, 'details-v1');
    assert.equal(get('503').value, 5);
    assert.equal(get('503').metric.response_flags, 'UF');
    const mtls = await prom.query('sum(istio_requests_total{reporter="destination",connection_security_policy="mutual_tls"})');
    assert.equal(mtls[0]!.value, 10);
    const p50 = await prom.query('histogram_quantile(0.5, sum by (le) (istio_request_duration_milliseconds_bucket{reporter="source"}))');
    // 30 observations: 5 at 2 ms, 25 spread from 1 to 289 ms; the median lies in the (100, 250] bucket.
    assert.ok(p50[0]!.value > 100 && p50[0]!.value <= 250, `p50 ${p50[0]!.value}`);
    const sent = await prom.query('istio_tcp_sent_bytes_total');
    assert.equal(sent[0]!.value, 4096);
    assert.equal(sent[0]!.metric.request_protocol, 'tcp');
    assert.equal(sent[0]!.metric.response_code, undefined, 'TCP series have no response_code');
    assert.equal((await prom.query('istio_tcp_received_bytes_total'))[0]!.value, 512);
  });
});
