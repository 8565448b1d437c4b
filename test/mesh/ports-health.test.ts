// Ports, locality and app health through real processes: a control plane and sidecars started
// with the built CLI, demo apps behind them, everything on 127.0.0.1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { DEMO_APP, freePort, getViaProxy, start, startControlPlane, startWeft, startWorkload, stop, waitHttp, type Mesh, type Proc } from '../helpers/mesh.js';

/** Fast probes, so a change shows within a few seconds: one failure is enough. */
const FAST_HEALTH = ['--app-health', 'http:/healthz', '--app-health-interval', '1s', '--app-health-failure-threshold', '1'];

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, detail: () => string = () => ''): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms\n${detail()}`);
}

async function readiness(adminPort: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/healthz/ready`);
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

const versionOf = (body: string): string | undefined => {
  try {
    return (JSON.parse(body) as { version?: string }).version;
  } catch {
    return undefined;
  }
};

describe('service ports, locality and app health', { timeout: 600_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let conf: string;

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'));
    conf = join(mesh.dataDir, 'admin.conf');
  });
  after(async () => {
    await stop(mesh.procs);
    tmp.cleanup();
  });

  test('a sidecar whose app is down is not ready and callers get 503 no healthy upstream; once the app starts it is ready and serves', async () => {
    const token = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'details']);
    assert.equal(token.code, 0, token.stderr);
    const [appPort, inbound, admin] = [await freePort(), await freePort(), await freePort()];
    const sidecar: Proc = startWeft('details-sidecar', [
      'sidecar', '--control-plane', `127.0.0.1:${mesh.cpPort}`, '--token-env', 'T', '--namespace', 'default', '--service', 'details',
      '--port', 'http:9080', '--locality', 'eu-west/eu-west-1a', '--inbound', `127.0.0.1:${inbound}`, '--app', `127.0.0.1:${appPort}`, '--admin', `127.0.0.1:${admin}`,
      '--app-health', 'tcp', '--app-health-interval', '1s',
    ], { T: token.stdout.trim() });
    mesh.procs.push(sidecar);
    const client = await startWorkload(mesh, { service: 'productpage' });
    // Registered (the caller knows the service) but unhealthy: the caller refuses without sending.
    const refused = await until('the caller answers no healthy upstream', async () => {
      const r = await getViaProxy(client.outboundPort, 'details.default:9080');
      return r.status === 503 && /no healthy upstream/.test(r.body) ? r : undefined;
    }, 30_000, () => sidecar.output());
    assert.equal(refused.body, 'weft: no healthy upstream\n');
    const notReady = await readiness(admin);
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, new RegExp(`^not ready: the app is not healthy: TCP connect to 127\\.0\\.0\\.1:${appPort} failed: ECONNREFUSED`));
    // The control plane shows the endpoint, its locality, and that it is unhealthy.
    const status = JSON.parse((await runWeft(['status', '-o', 'json', '--config', conf])).stdout) as { services: { name: string; ports: unknown[]; endpoints: { locality: string; healthy: boolean }[] }[] };
    const details = status.services.find((s) => s.name === 'details');
    assert.deepEqual(details?.ports, [{ name: 'http', port: 9080, protocol: 'HTTP', targetPort: appPort }]);
    assert.deepEqual(details?.endpoints.map((e) => [e.locality, e.healthy]), [['eu-west/eu-west-1a/', false]]);
    const table = (await runWeft(['status', '--config', conf])).stdout;
    assert.match(table, new RegExp(`details\\.default\\s+http:9080/HTTP->${appPort}\\s+127\\.0\\.0\\.1:${inbound}\\s+\\S+\\s+eu-west/eu-west-1a/\\s+UNHEALTHY`));

    const app = start('details-app', [DEMO_APP, '--name', 'details', '--version', 'v1', '--port', String(appPort)]);
    mesh.procs.push(app);
    await waitHttp(`http://127.0.0.1:${admin}/healthz/ready`, sidecar, 30_000);
    await until('the caller reaches details', async () => ((await getViaProxy(client.outboundPort, 'details.default:9080')).status === 200 ? true : undefined), 30_000, () => sidecar.output());
    await stop([sidecar, app, client.sidecar, client.app]);
  });

  test('callers stop sending to the replica whose app health fails, and come back when it recovers; all unhealthy is 503', async () => {
    const v1 = await startWorkload(mesh, { service: 'reviews', version: 'v1', sidecarArgs: FAST_HEALTH });
    const v2 = await startWorkload(mesh, { service: 'reviews', version: 'v2', sidecarArgs: FAST_HEALTH });
    const client = await startWorkload(mesh, { service: 'productpage' });
    const seen = new Set<string>();
    await until('both replicas answer', async () => {
      const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
      if (r.status === 200) seen.add(versionOf(r.body) ?? '?');
      return seen.size === 2 ? true : undefined;
    });

    v2.app.child.kill('SIGUSR2'); // v2's /healthz answers 503 from now on
    // Within a few seconds every request goes to v1: 20 in a row.
    let streak = 0;
    await until('v2 out of balancing', async () => {
      const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
      streak = r.status === 200 && versionOf(r.body) === 'v1' ? streak + 1 : 0;
      return streak >= 20 ? true : undefined;
    }, 30_000, () => v2.sidecar.output());
    const down = await readiness(v2.adminPort);
    assert.equal(down.status, 503);
    assert.match(down.body, /not ready: the app is not healthy: GET http:\/\/127\.0\.0\.1:\d+\/healthz answered 503/);
    for (let i = 0; i < 30; i++) {
      const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
      assert.equal(r.status, 200, r.body);
      assert.equal(versionOf(r.body), 'v1');
    }

    v2.app.child.kill('SIGUSR2'); // healthy again
    await until('v2 back in balancing', async () => {
      const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
      return r.status === 200 && versionOf(r.body) === 'v2' ? true : undefined;
    }, 30_000, () => v2.sidecar.output());
    assert.equal((await readiness(v2.adminPort)).status, 200);
    // One report per change of the app's health (the state at start rides on the registration).
    const out = v2.sidecar.output();
    const reports = (out.match(/"event":"health\.reported"/g) ?? []).length;
    const changes = (out.match(/"event":"app\.(un)?healthy"/g) ?? []).length;
    assert.ok(reports >= 2 && reports <= changes, `${reports} reports for ${changes} changes:\n${out}`);

    v1.app.child.kill('SIGUSR2');
    v2.app.child.kill('SIGUSR2');
    const none = await until('no replica healthy', async () => {
      const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
      return r.status === 503 ? r : undefined;
    });
    assert.equal(none.body, 'weft: no healthy upstream\n');
    await stop([v1.sidecar, v1.app, v2.sidecar, v2.app, client.sidecar, client.app]);
  });

  test('a drained replica is unhealthy, never an unknown service, while it finishes', async () => {
    const only = await startWorkload(mesh, { service: 'ratings', sidecarArgs: ['--app-health', 'none'] });
    const client = await startWorkload(mesh, { service: 'productpage' });
    await until('ratings answers', async () => ((await getViaProxy(client.outboundPort, 'ratings.default:9080')).status === 200 ? true : undefined));
    only.sidecar.child.kill('SIGTERM');
    // Between its health report and its deregistration the caller knows the service without a healthy endpoint.
    const r = await until('the caller sees the drain', async () => {
      const x = await getViaProxy(client.outboundPort, 'ratings.default:9080');
      return x.status !== 200 ? x : undefined;
    });
    assert.equal(r.body, 'weft: no healthy upstream\n');
    assert.equal(await only.sidecar.exited, 0, only.sidecar.output());
    await stop([only.app, client.sidecar, client.app]);
  });

  test('two app servers behind one sidecar: each service port reaches its own target port; an undeclared port is refused', async () => {
    const adminPort = await freePort();
    const admin = start('multi-admin-app', [DEMO_APP, '--name', 'multi', '--version', 'admin', '--port', String(adminPort)]);
    mesh.procs.push(admin);
    const multi = await startWorkload(mesh, { service: 'multi', version: 'web', sidecarArgs: ['--port', 'http-web:9080', '--port', `http-admin:9081:${adminPort}`, '--app-protocol', 'http-admin=http'] });
    const client = await startWorkload(mesh, { service: 'productpage' });
    const web = await until('port 9080', async () => {
      const r = await getViaProxy(client.outboundPort, 'multi.default:9080');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(versionOf(web.body), 'web');
    const other = await getViaProxy(client.outboundPort, 'multi.default:9081');
    assert.equal(other.status, 200, other.body);
    assert.equal(versionOf(other.body), 'admin');
    const none = await getViaProxy(client.outboundPort, 'multi.default:9999');
    assert.equal(none.status, 404);
    assert.equal(none.body, 'weft: service "multi.default" has no port 9999; its ports: 9080 (http-web), 9081 (http-admin)\n');
    await stop([multi.sidecar, multi.app, admin, client.sidecar, client.app]);
  });

  test('fail/a workload whose port contradicts the service\'s other workloads is refused with the reason', async () => {
    const first = await startWorkload(mesh, { service: 'db', sidecarArgs: ['--port', 'tcp-db:5432'] });
    const token = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'db']);
    const [inbound, app] = [await freePort(), await freePort()];
    const second = startWeft('db-contradicting', [
      'sidecar', '--control-plane', `127.0.0.1:${mesh.cpPort}`, '--token-env', 'T', '--namespace', 'default', '--service', 'db',
      '--port', 'http:5432', '--inbound', `127.0.0.1:${inbound}`, '--app', `127.0.0.1:${app}`, '--app-health', 'none',
    ], { T: token.stdout.trim() });
    mesh.procs.push(second);
    const code = await Promise.race([second.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 60_000))]);
    assert.notEqual(code, 'running', second.output());
    assert.notEqual(code, 0);
    assert.match(second.output(), /registration refused: port 5432 of db\.default is TCP for its other workloads, not HTTP: one service has one protocol per port/);
    await stop([first.sidecar, first.app]);
  });
});
