// `weft proxy-status` and `weft proxy-config` against a running control plane and two sidecars:
// the sidecars are found through the control plane's status, their admin endpoints read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';

describe('weft proxy-status and proxy-config', { timeout: 240_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let pp: Workload;
  let conf: string;
  const weft = (...args: string[]) => runWeft([...args, '--config', conf]);

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'));
    conf = join(mesh.dataDir, 'admin.conf');
    pp = await startWorkload(mesh, { service: 'productpage', calls: ['details.default:9080'] });
    await startWorkload(mesh, { service: 'details' });
  });

  after(async () => {
    await stop(mesh?.procs ?? []);
    tmp.cleanup();
  });

  test('proxy-status: one row per sidecar, SYNCED once it ACKed, with its admin endpoint', async () => {
    let rows: { workloadId: string; identity: string; state: string; admin: string | null; sent: number; acked: number; latest: number }[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await weft('proxy-status', '-o', 'json');
      assert.equal(r.code, 0, r.stderr);
      rows = (JSON.parse(r.stdout) as { sidecars: typeof rows }).sidecars;
      if (rows.length === 2 && rows.every((x) => x.state === 'SYNCED')) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.deepEqual(rows.map((r) => r.identity).sort(), ['ns/default/sa/details', 'ns/default/sa/productpage']);
    assert.ok(rows.every((r) => r.state === 'SYNCED' && r.acked === r.sent && r.sent <= r.latest));
    assert.equal(rows.find((r) => r.identity.endsWith('productpage'))!.admin, `127.0.0.1:${pp.adminPort}`);
    const table = await weft('proxy-status');
    assert.match(table.stdout, /^NAME\s+IDENTITY\s+APP VERSION\s+SENT\s+ACKED\s+LATEST\s+STATUS\s+ADMIN$/m);
    assert.match(table.stdout, /ns\/default\/sa\/details\s+v1\s+\d+\s+\d+\s+\d+\s+SYNCED/);
  });

  test('proxy-config clusters and endpoints: the services the sidecar knows, named as Envoy names them', async () => {
    const r = await weft('proxy-config', 'clusters', 'productpage.default');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /details\.default\.svc\.cluster\.local\s+9080\s+outbound\s+HTTP\s+1\s+outbound\|9080\|\|details\.default\.svc\.cluster\.local/);
    assert.match(r.stdout, /inbound\|9080\|\|/);
    const eps = await weft('proxy-config', 'endpoints', 'productpage', '-o', 'json');
    const list = JSON.parse(eps.stdout) as { cluster: string; spiffeId: string; address: string }[];
    const details = list.find((e) => e.cluster === 'outbound|9080||details.default.svc.cluster.local');
    assert.equal(details?.spiffeId, 'spiffe://cluster.local/ns/default/sa/details');
  });

  test('proxy-config listeners and routes', async () => {
    const l = await weft('proxy-config', 'listeners', 'productpage');
    assert.match(l.stdout, new RegExp(`inbound\\|${pp.inboundPort}\\s+127\\.0\\.0\\.1\\s+${pp.inboundPort}\\s+inbound`));
    assert.match(l.stdout, new RegExp(`outbound\\|${pp.outboundPort}`));
    const rt = await weft('proxy-config', 'routes', 'productpage', '-o', 'yaml');
    assert.match(rt.stdout, /cluster: outbound\|9080\|\|details\.default\.svc\.cluster\.local/);
  });

  test('proxy-config secret: the certificate chain and root, never a private key', async () => {
    const table = await weft('proxy-config', 'secret', 'productpage');
    assert.match(table.stdout, /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+/m);
    assert.match(table.stdout, /^ROOTCA\s+CA\s+ACTIVE/m);
    const json = await weft('proxy-config', 'all', 'productpage', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    assert.ok(!json.stdout.includes('PRIVATE KEY'));
    const all = JSON.parse(json.stdout) as { secret: { spiffeId: string; chain: { pem: string }[] } };
    assert.equal(all.secret.spiffeId, 'spiffe://cluster.local/ns/default/sa/productpage');
    assert.match(all.secret.chain[0]!.pem, /BEGIN CERTIFICATE/);
  });

  test('--admin reads a sidecar directly', async () => {
    const r = await runWeft(['proxy-config', 'listeners', '--admin', `127.0.0.1:${pp.adminPort}`, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as unknown[]).length >= 2);
  });

  test('refusals: an unknown workload, a section that does not exist, a non-loopback admin address', async () => {
    const missing = await weft('proxy-config', 'clusters', 'nosuch');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no connected sidecar is "nosuch".*WEFT_PROXY_CONFIG_NOT_FOUND/);
    const section = await weft('proxy-config', 'bogus', 'productpage');
    assert.equal(section.code, 2);
    const remote = await runWeft(['proxy-config', 'listeners', '--admin', '10.1.2.3:15000']);
    assert.equal(remote.code, 1);
    assert.match(remote.stderr, /not on loopback.*WEFT_PROXY_CONFIG_UNREACHABLE/);
  });
});
