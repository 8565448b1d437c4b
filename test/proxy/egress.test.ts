// Hosts outside the mesh (issue 9 §2): MeshConfig outboundTrafficPolicy ALLOW_ANY forwards as the
// app asked, REGISTRY_ONLY answers 502; a name shaped like a mesh service stays "unknown service".
// The external host is a plain HTTP server on an IP literal, so nothing here resolves a name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SidecarProxy } from '../../src/proxy/index.js';
import { externalHostOf } from '../../src/proxy/outbound/egress.js';
import { startEgressRig, NamespacedDirectory, type EgressRig } from './egress-rig.js';
import { httpRequest, StaticDirectory, type App } from './helpers.js';
import { curl } from './tools.js';

describe('outbound traffic to hosts outside the mesh', () => {
  let rig: EgressRig;
  let external: App;
  let client: SidecarProxy;
  let outbound: number;
  let closedPort: number;
  const setMode = (m: EgressRig['mode']): void => void (rig.mode = m);

  before(async () => {
    rig = await startEgressRig();
    ({ external, client, outbound, closedPort } = rig);
  });
  after(async () => {
    await rig?.close();
  });

  test('ALLOW_ANY: an absolute-URI request to an outside host goes to it as asked, without mesh headers', async () => {
    setMode('ALLOW_ANY');
    const before = external.seen.length;
    const r = await curl(['-sS', '-x', `http://127.0.0.1:${outbound}`, '-H', 'x-app: 1', `http://127.0.0.1:${external.port}/ext?q=1`]);
    assert.equal(r.code, 0, r.stderr);
    const echo = JSON.parse(r.stdout.toString()) as { app: string; url: string; headers: Record<string, string> };
    assert.equal(echo.app, 'external');
    assert.equal(echo.url, '/ext?q=1');
    assert.equal(echo.headers.host, `127.0.0.1:${external.port}`);
    assert.equal(echo.headers['x-app'], '1');
    assert.equal(echo.headers['x-forwarded-client-cert'], undefined);
    assert.equal(echo.headers['proxy-connection'], undefined);
    assert.equal(external.seen.length, before + 1);
    assert.ok(client.stats().outbound_requests_passthrough_total! >= 1);
  });

  test('ALLOW_ANY: an origin-form request whose Host is outside the mesh, with a body', async () => {
    setMode('ALLOW_ANY');
    const body = Buffer.alloc(300_000, 7);
    const r = await httpRequest(outbound, { method: 'POST', path: '/echo', headers: { host: `127.0.0.1:${external.port}` }, body });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, body);
  });

  test('ALLOW_ANY: CONNECT to an outside host is a plain TCP connection to it', async () => {
    setMode('ALLOW_ANY');
    const r = await curl(['-sS', '-p', '-x', `http://127.0.0.1:${outbound}`, `http://127.0.0.1:${external.port}/tunnelled`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout.toString()) as { url: string }).url, '/tunnelled');
    assert.ok(client.stats().outbound_tcp_passthrough_total! >= 1);
  });

  test('REGISTRY_ONLY: requests and CONNECTs to outside hosts get 502 with the reason, and reach nobody', async () => {
    setMode('REGISTRY_ONLY');
    const before = external.seen.length;
    const r = await httpRequest(outbound, { path: '/x', headers: { host: `127.0.0.1:${external.port}` } });
    assert.equal(r.status, 502);
    assert.match(String(r.headers['x-weft-proxy-error']), /^NR WEFT_PROXY_EGRESS_BLOCKED: outboundTrafficPolicy REGISTRY_ONLY: "127\.0\.0\.1" is neither a mesh service nor a ServiceEntry host$/);
    const t = await curl(['-sS', '-i', '-p', '-x', `http://127.0.0.1:${outbound}`, `http://127.0.0.1:${external.port}/t`]);
    assert.match(t.stdout.toString() + t.stderr, /502/);
    assert.equal(external.seen.length, before);
    // Mesh services are unaffected.
    const m = await httpRequest(outbound, { path: '/in-mesh', headers: { host: 'details.default' } });
    assert.equal(m.status, 200);
    assert.ok(client.stats().outbound_requests_blackholed_total! >= 2);
    setMode('ALLOW_ANY');
  });

  test('a name shaped like a mesh service stays "unknown service" under ALLOW_ANY, and nothing is dialled', async () => {
    setMode('ALLOW_ANY');
    const passthrough = client.stats().outbound_requests_passthrough_total!;
    for (const host of ['ratings.default', 'ratings.default.svc.cluster.local:9080', 'ratings']) {
      const r = await httpRequest(outbound, { path: '/', headers: { host } });
      assert.equal(r.status, 503, host);
      assert.match(String(r.headers['x-weft-proxy-error']), /^NR WEFT_PROXY_UNKNOWN_SERVICE: unknown service/, host);
    }
    assert.equal(client.stats().outbound_requests_passthrough_total, passthrough);
  });

  test('an outside host that refuses the connection is 503 UF, for requests and CONNECT alike', async () => {
    setMode('ALLOW_ANY');
    const r = await httpRequest(outbound, { path: '/', headers: { host: `127.0.0.1:${closedPort}` } });
    assert.equal(r.status, 503);
    assert.match(String(r.headers['x-weft-proxy-error']), /^UF WEFT_PROXY_UPSTREAM_UNAVAILABLE: cannot reach 127\.0\.0\.1:\d+$/);
    const t = await curl(['-sS', '-i', '-p', '-x', `http://127.0.0.1:${outbound}`, `http://127.0.0.1:${closedPort}/`]);
    assert.match(t.stdout.toString() + t.stderr, /503/);
  });
});

describe('which names are outside the mesh', () => {
  const directory = new NamespacedDirectory();
  directory.set('details.default', [], []);
  const suffix = '.svc.cluster.local';
  const table: [string, string | undefined][] = [
    ['example.com', 'example.com:80'],
    ['API.Example.COM.:8443', 'api.example.com:8443'],
    ['127.0.0.1:9000', '127.0.0.1:9000'],
    ['[::1]:9000', '::1:9000'],
    ['a.b.c', 'a.b.c:80'],
    ['details.default', undefined],
    ['ratings.default:9080', undefined],
    ['ratings', undefined],
    ['ratings.default.svc.cluster.local', undefined],
    ['x.y.svc.cluster.local.', undefined],
    ['svc.cluster.local', undefined],
    ['bad host', undefined],
    ['host:99999', undefined],
    ['host:', undefined],
    ['[::1', undefined],
    ['[not-ip]:80', undefined],
    ['', undefined],
    [`${'a'.repeat(254)}.com`, undefined],
  ];
  for (const [authority, expected] of table) {
    test(JSON.stringify(authority), () => {
      const ext = externalHostOf(authority, suffix, directory, 80);
      assert.equal(ext === undefined ? undefined : `${ext.host}:${ext.port}`, expected);
    });
  }
  test('without a namespace list, NAME.NAMESPACE is always a mesh name', () => {
    const plain = new StaticDirectory();
    assert.equal(externalHostOf('example.com', suffix, plain, 80), undefined);
    assert.equal(externalHostOf('www.example.com', suffix, plain, 80)?.host, 'www.example.com');
  });
});
