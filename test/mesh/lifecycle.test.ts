// The mesh under change: SVID rotation, a control plane that dies and comes back, replicas that
// drain, and a workload claiming a service that is not its own. Real processes on 127.0.0.1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { getViaProxy, load, startControlPlane, startWeft, startWorkload, stop, waitHttp, type Mesh, type Proc } from '../helpers/mesh.js';

/** The sidecar's /certs; when it does not answer, fails with the sidecar's own output. */
async function certsOf(adminPort: number, sidecar?: Proc): Promise<{ serial: string; rotations: number; notAfter: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/certs`);
    return (await res.json()) as { serial: string; rotations: number; notAfter: string };
  } catch (err) {
    if (sidecar === undefined) throw err;
    throw new Error(`${sidecar.name} /certs: ${(err as Error).message} (exit ${sidecar.child.exitCode} ${sidecar.child.signalCode}):\n${sidecar.output().slice(-8000)}`, { cause: err });
  }
}

describe('mesh lifecycle', { timeout: 900_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'), ['--lease', '3s']);
  });
  after(async () => {
    await stop(mesh.procs);
    tmp.cleanup();
  });

  test('rotation with a 20 s SVID under continuous load fails no request', async () => {
    const server = await startWorkload(mesh, { service: 'details', sidecarArgs: ['--svid-ttl', '20'] });
    const client = await startWorkload(mesh, { service: 'productpage', sidecarArgs: ['--svid-ttl', '20'] });
    const first = await certsOf(client.adminPort, client.sidecar);
    const firstServer = await certsOf(server.adminPort, server.sidecar);
    const traffic = load(client.outboundPort, 'details.default:9080', { concurrency: 4 });
    const deadline = performance.now() + 40_000;
    while (performance.now() < deadline) {
      const [c, s] = [await certsOf(client.adminPort, client.sidecar), await certsOf(server.adminPort, server.sidecar)];
      // Counted from the certificates first seen: on a slow start a rotation may already be behind them.
      if (c.rotations > first.rotations && s.rotations > firstServer.rotations && traffic.stats.ok > 50) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const stats = await traffic.stop();
    const [c, s] = [await certsOf(client.adminPort, client.sidecar), await certsOf(server.adminPort, server.sidecar)];
    assert.ok(c.rotations > first.rotations && s.rotations > firstServer.rotations, `rotations: client ${first.rotations} -> ${c.rotations}, server ${firstServer.rotations} -> ${s.rotations}`);
    assert.notEqual(c.serial, first.serial);
    assert.notEqual(s.serial, firstServer.serial);
    assert.equal(stats.failed, 0, stats.reasons.join('\n'));
    assert.ok(stats.ok > 50, `only ${stats.ok} requests`);
    await stop([client.sidecar, client.app, server.sidecar, server.app]);
  });

  test('two replicas share the load, and one drained with SIGTERM under load fails no request', async () => {
    const a = await startWorkload(mesh, { service: 'reviews', version: 'v1' });
    const b = await startWorkload(mesh, { service: 'reviews', version: 'v2' });
    const client = await startWorkload(mesh, { service: 'productpage' });
    // Wait until the client's snapshot holds both replicas.
    const deadline = performance.now() + 10_000;
    const seen = new Set<string>();
    while (seen.size < 2 && performance.now() < deadline) {
      const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
      if (r.status === 200) seen.add((JSON.parse(r.body) as { version: string }).version);
    }
    assert.deepEqual([...seen].sort(), ['v1', 'v2']);
    const traffic = load(client.outboundPort, 'reviews.default:9080', { concurrency: 4 });
    while (traffic.stats.ok < 100) await new Promise((r) => setTimeout(r, 50));
    const shared = new Map(traffic.stats.byVersion);
    assert.ok((shared.get('v1') ?? 0) > 10 && (shared.get('v2') ?? 0) > 10, `split: ${[...shared].join(' ')}`);
    b.sidecar.child.kill('SIGTERM');
    assert.equal(await b.sidecar.exited, 0, b.sidecar.output());
    const before = traffic.stats.ok;
    while (traffic.stats.ok < before + 100) await new Promise((r) => setTimeout(r, 50));
    const stats = await traffic.stop();
    assert.equal(stats.failed, 0, stats.reasons.join('\n'));
    await stop([a.sidecar, a.app, b.app, client.sidecar, client.app]);
  });

  test('traffic continues while the control plane is down, and sidecars reconnect after it restarts', async () => {
    const server = await startWorkload(mesh, { service: 'ratings' });
    const client = await startWorkload(mesh, { service: 'reviews' });
    const traffic = load(client.outboundPort, 'ratings.default:9080', { concurrency: 2 });
    while (traffic.stats.ok < 20) await new Promise((r) => setTimeout(r, 50));
    mesh.controlPlane.child.kill('SIGKILL');
    await mesh.controlPlane.exited;
    const atKill = traffic.stats.ok;
    while (traffic.stats.ok < atKill + 100) await new Promise((r) => setTimeout(r, 50));
    assert.equal(traffic.stats.failed, 0, traffic.stats.reasons.join('\n'));

    // Same data directory, same ports: the CA and tokens persist, the sidecars come back by themselves.
    const restarted = startWeft('control-plane', ['control-plane', '--data-dir', mesh.dataDir, '--listen', `127.0.0.1:${mesh.cpPort}`, '--admin', `127.0.0.1:${mesh.cpAdmin}`, '--lease', '3s']);
    mesh.procs.push(restarted);
    mesh.controlPlane = restarted;
    await waitHttp(`http://127.0.0.1:${mesh.cpAdmin}/healthz/ready`, restarted);
    const deadline = performance.now() + 20_000;
    while (!/workload\.registered[\s\S]*workload\.registered/.test(restarted.output()) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(restarted.output(), /workload\.registered[\s\S]*workload\.registered/, 'both sidecars registered again');
    const stats = await traffic.stop();
    assert.equal(stats.failed, 0, stats.reasons.join('\n'));
    // A new workload can join the restarted control plane and reach the others.
    const late = await startWorkload(mesh, { service: 'details', calls: ['ratings.default:9080'] });
    const r = await getViaProxy(late.outboundPort, 'ratings.default:9080');
    assert.equal(r.status, 200, r.body);
    await stop([server.sidecar, server.app, client.sidecar, client.app, late.sidecar, late.app]);
  });

  test('a sidecar whose identity is not the service\'s cannot register for it and receives no traffic', async () => {
    const legit = await startWorkload(mesh, { service: 'details' });
    const rogue = await startWorkload(mesh, { service: 'details', serviceAccount: 'rogue', version: 'rogue', waitReady: false });
    const code = await rogue.sidecar.exited;
    assert.equal(code, 1);
    assert.match(rogue.sidecar.output(), /secure naming/);
    const client = await startWorkload(mesh, { service: 'productpage' });
    for (let i = 0; i < 20; i++) {
      const r = await getViaProxy(client.outboundPort, 'details.default:9080');
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as { version: string }).version, 'v1');
    }
    await stop([legit.sidecar, legit.app, rogue.app, client.sidecar, client.app]);
  });

  test('the sidecar admin endpoint reports readiness, its certificate and Prometheus counters', async () => {
    const server = await startWorkload(mesh, { service: 'details' });
    const client = await startWorkload(mesh, { service: 'productpage' });
    for (let i = 0; i < 5; i++) assert.equal((await getViaProxy(client.outboundPort, 'details.default:9080')).status, 200);
    const ready = await fetch(`http://127.0.0.1:${client.adminPort}/healthz/ready`);
    assert.equal(ready.status, 200);
    const certs = (await (await fetch(`http://127.0.0.1:${client.adminPort}/certs`)).json()) as { spiffeId: string; serial: string; notBefore: string; notAfter: string; chain: { subjectAltName: string }[] };
    assert.equal(certs.spiffeId, 'spiffe://cluster.local/ns/default/sa/productpage');
    assert.match(certs.serial, /^[0-9a-f]{32}$/);
    assert.ok(Date.parse(certs.notAfter) > Date.parse(certs.notBefore));
    assert.equal(certs.chain[0]?.subjectAltName, 'URI:spiffe://cluster.local/ns/default/sa/productpage');
    const stats = await (await fetch(`http://127.0.0.1:${client.adminPort}/stats`)).text();
    assert.match(stats, /# TYPE weft_sidecar_svid_rotations_total counter/);
    assert.match(stats, /weft_sidecar_svid_expiration_timestamp_seconds \d+/);
    assert.match(stats, /# TYPE weft_sidecar_outbound_requests_total counter\nweft_sidecar_outbound_requests_total ([5-9]|\d\d+)\n/);
    assert.match(stats, /# TYPE weft_sidecar_outbound_tls_handshakes_total counter\nweft_sidecar_outbound_tls_handshakes_total [1-9]/);
    assert.match(stats, /# TYPE weft_sidecar_inbound_connections_active gauge/);
    const notFound = await fetch(`http://127.0.0.1:${client.adminPort}/nope`);
    assert.equal(notFound.status, 404);
    await stop([server.sidecar, server.app, client.sidecar, client.app]);
  });

  test('bad flags and unreachable addresses give clear errors', async () => {
    const cases: [string[], number, RegExp][] = [
      [['sidecar', '--control-plane', 'nowhere', '--token-env', 'X', '--namespace', 'default', '--service', 's', '--inbound', '127.0.0.1:1', '--app', '127.0.0.1:2'], 2, /not HOST:PORT/],
      [['sidecar', '--control-plane', '127.0.0.1:1', '--namespace', 'default', '--service', 's', '--inbound', '127.0.0.1:1', '--app', '127.0.0.1:2'], 2, /exactly one of --token-file FILE or --token-env VAR/],
      [['sidecar', '--control-plane', '127.0.0.1:1', '--token-file', join(tmp.dir, 'none'), '--namespace', 'default', '--service', 's', '--inbound', '127.0.0.1:1', '--app', '127.0.0.1:2'], 1, /cannot read the join token file/],
      [['control-plane', '--data-dir', join(tmp.dir, 'cp2'), '--listen', '127.0.0.1:99999'], 2, /not HOST:PORT/],
    ];
    for (const [args, code, message] of cases) {
      const p = startWeft('bad', args);
      assert.equal(await p.exited, code, `${args.join(' ')}\n${p.output()}`);
      assert.match(p.output(), message);
    }
    // A valid token but nobody listening at the control-plane address.
    const { runWeft } = await import('../helpers/cli.js');
    const token = (await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'details'])).stdout.trim();
    const p = startWeft('unreachable', ['sidecar', '--control-plane', '127.0.0.1:9', '--token-env', 'T', '--namespace', 'default', '--service', 'details', '--inbound', '127.0.0.1:0', '--app', '127.0.0.1:1', '--wait-for-control-plane', '0'], { T: token });
    assert.equal(await p.exited, 1, p.output());
    assert.match(p.output(), /gave up on the control plane at 127\.0\.0\.1:9 after 1 attempt over 0 s \(--wait-for-control-plane\): cannot reach the control plane at 127\.0\.0\.1:9: ECONNREFUSED/);
  });
});
