// Nothing an unauthenticated peer does exhausts a process: floods of connections that never finish
// a handshake or a request head, against every listener of a sidecar and of the control plane,
// with the default limits, a lowered cap, and a lowered descriptor limit (EMFILE). Real processes
// on 127.0.0.1; descriptor counts read from /proc/PID/fd.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WEFT_BIN, runWeft, tempDir } from '../helpers/cli.js';
import { DEMO_APP, freePort, getViaProxy, httpStatus, start, startControlPlane, startWorkload, stop, waitHttp, type Mesh, type Proc, type Workload } from '../helpers/mesh.js';
import { fdCount, flood, rssKiB, sidecarStats, SHAPES, waitFor, type Flood, type Shape } from './flood.js';

/** GET through `proxyPort` on the one keep-alive connection of `agent` (opened before the flood). */
function getKeepAlive(agent: Agent, proxyPort: number, target: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, path: `http://${target}/`, headers: { host: target }, agent, timeout: 20_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** `weft <command>` with the process's descriptor limit lowered to `nofile` (soft and hard). */
function startLimited(name: string, nofile: number, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  return start(name, ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, process.execPath, WEFT_BIN, ...args], env, '/bin/bash');
}

const pidOf = (p: Proc): number => p.child.pid!;
const alive = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;
const SLACK_FDS = 40;

describe('connection exhaustion', { timeout: 300_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let a: Workload;
  let b: Workload;

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'));
    a = await startWorkload(mesh, { service: 'a' });
    b = await startWorkload(mesh, { service: 'b' });
    await waitFor(async () => (await getViaProxy(a.outboundPort, 'b.default:9080')).status === 200, 30_000, () => 'a cannot reach b');
    // b's port in PERMISSIVE, so its inbound listener also serves (and sniffs) plaintext.
    const permissive = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: b, namespace: default }\nspec: { selector: { matchLabels: { app: b } }, mtls: { mode: PERMISSIVE } }\n';
    const applied = await runWeft(['apply', '-f', '-', '--config', join(mesh.dataDir, 'admin.conf')], { input: permissive });
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${b.inboundPort}/`)) === 200, 30_000, () => 'b does not serve plaintext');
  });
  after(async () => {
    await stop(mesh.procs);
    tmp.cleanup();
  });

  test('every listener closes connections that finish no handshake or request head, and established peers are served meanwhile', async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal(await getKeepAlive(agent, a.outboundPort, 'b.default:9080'), 200);
    const sidecarPid = pidOf(b.sidecar);
    const cpPid = pidOf(mesh.controlPlane);
    const base = { sidecar: fdCount(sidecarPid), cp: fdCount(cpPid), outbound: fdCount(pidOf(a.sidecar)), sidecarRss: rssKiB(sidecarPid), cpRss: rssKiB(cpPid) };
    const sessionsBefore = (await sidecarStats(a.adminPort)).outbound_sessions_opened_total;
    const PER_SHAPE = 300;
    const plan: [string, number, Shape][] = [
      ['sidecar inbound', b.inboundPort, SHAPES.silent],
      ['sidecar inbound', b.inboundPort, SHAPES.tlsByte],
      ['sidecar inbound', b.inboundPort, SHAPES.tlsHeader],
      ['sidecar inbound (PERMISSIVE)', b.inboundPort, SHAPES.halfHead],
      ['sidecar outbound', a.outboundPort, SHAPES.silent],
      ['sidecar outbound', a.outboundPort, SHAPES.halfHead],
      ['sidecar admin', b.adminPort, SHAPES.silent],
      ['sidecar admin', b.adminPort, SHAPES.halfHead],
      ['control-plane gRPC', mesh.cpPort, SHAPES.silent],
      ['control-plane gRPC', mesh.cpPort, SHAPES.tlsHeader],
      ['control-plane admin', mesh.cpAdmin, SHAPES.silent],
      ['control-plane admin', mesh.cpAdmin, SHAPES.tlsByte],
      ['control-plane admin', mesh.cpAdmin, SHAPES.halfHead],
    ];
    const floods: [string, Flood][] = [];
    try {
      for (const [listener, port, shape] of plan) floods.push([`${listener}, ${shape.name}`, await flood(port, PER_SHAPE, shape)]);
      const during = { sidecar: fdCount(sidecarPid), cp: fdCount(cpPid), sidecarRss: rssKiB(sidecarPid), cpRss: rssKiB(cpPid) };
      // The established mTLS session a -> b, and the app's established connection to its proxy.
      assert.equal(await getKeepAlive(agent, a.outboundPort, 'b.default:9080'), 200);
      await waitFor(
        () => floods.every(([, f]) => f.closed() === PER_SHAPE),
        120_000,
        () => floods.filter(([, f]) => f.closed() < PER_SHAPE).map(([n, f]) => `${n}: ${PER_SHAPE - f.closed()} still open`).join('; '),
      );
      await waitFor(() => fdCount(sidecarPid) <= base.sidecar + SLACK_FDS && fdCount(cpPid) <= base.cp + SLACK_FDS, 30_000, () => `fds: sidecar ${fdCount(sidecarPid)} (was ${base.sidecar}), control plane ${fdCount(cpPid)} (was ${base.cp})`);
      const afterFlood = { sidecar: fdCount(sidecarPid), cp: fdCount(cpPid), sidecarRss: rssKiB(sidecarPid), cpRss: rssKiB(cpPid) };
      t.diagnostic(`fds before/during/after: sidecar ${base.sidecar}/${during.sidecar}/${afterFlood.sidecar}, control plane ${base.cp}/${during.cp}/${afterFlood.cp}`);
      t.diagnostic(`RSS KiB before/during/after: sidecar ${base.sidecarRss}/${during.sidecarRss}/${afterFlood.sidecarRss}, control plane ${base.cpRss}/${during.cpRss}/${afterFlood.cpRss}`);
    } finally {
      for (const [, f] of floods) f.destroy();
      agent.destroy();
    }
    assert.ok(alive(b.sidecar) && alive(a.sidecar) && alive(mesh.controlPlane), 'no process exited');
    const [bs, as] = [await sidecarStats(b.adminPort), await sidecarStats(a.adminPort)];
    assert.ok(bs.inbound_handshake_timeouts_total! >= 4 * PER_SHAPE, `inbound timeouts ${bs.inbound_handshake_timeouts_total}`);
    assert.ok(as.outbound_handshake_timeouts_total! >= 2 * PER_SHAPE, `outbound timeouts ${as.outbound_handshake_timeouts_total}`);
    assert.ok(bs.admin_handshake_timeouts_total! >= 2 * PER_SHAPE, `admin timeouts ${bs.admin_handshake_timeouts_total}`);
    assert.equal((await getViaProxy(a.outboundPort, 'b.default:9080')).status, 200);
    // The deadline is for connections that have not proved themselves: a's session to b, older
    // than the deadline, was never cut and reopened.
    assert.equal((await sidecarStats(a.adminPort)).outbound_sessions_opened_total, sessionsBefore);
  });

  test('at its --max-connections cap a listener closes new connections at once and keeps serving its established peers', async (t) => {
    const c = await startWorkload(mesh, { service: 'c', sidecarArgs: ['--max-connections', '50', '--handshake-timeout', '3s'] });
    // a learns of c with its next snapshot.
    await waitFor(async () => (await getViaProxy(a.outboundPort, 'c.default:9080')).status === 200, 30_000, () => 'a cannot reach c');
    // An app connection to c's outbound port, open before its flood.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal(await getKeepAlive(agent, c.outboundPort, 'a.default:9080'), 200);
    const pid = pidOf(c.sidecar);
    const listeners: [string, number, () => Promise<number>][] = [
      ['inbound', c.inboundPort, async () => (await getViaProxy(a.outboundPort, 'c.default:9080')).status],
      ['outbound', c.outboundPort, () => getKeepAlive(agent, c.outboundPort, 'a.default:9080')],
      ['admin', c.adminPort, async () => 200],
    ];
    try {
      for (const [name, port, established] of listeners) {
        const base = fdCount(pid);
        const f = await flood(port, 400, SHAPES.silent);
        try {
          const during = fdCount(pid);
          assert.ok(during <= base + 50 + SLACK_FDS, `${name}: ${during} descriptors open with a cap of 50 (was ${base})`);
          for (let i = 0; i < 3; i++) assert.equal(await established(), 200, `${name}: the established connection is served at the cap`);
          await waitFor(() => f.closed() === 400, 60_000, () => `${name}: ${400 - f.closed()} flood connections still open`);
          t.diagnostic(`${name}, cap 50: fds before ${base}, during ${during}, after ${fdCount(pid)}`);
        } finally {
          f.destroy();
        }
      }
    } finally {
      agent.destroy();
    }
    const stats = await sidecarStats(c.adminPort);
    for (const name of ['inbound', 'outbound', 'admin']) {
      assert.ok(stats[`${name}_connections_refused_total`]! >= 100, `${name} refused ${stats[`${name}_connections_refused_total`]}`);
    }
    assert.ok(alive(c.sidecar));
  });

  test('descriptors running out (EMFILE on accept) crash neither a sidecar nor the control plane', async (t) => {
    const dataDir = join(tmp.dir, 'limited');
    const init = await runWeft(['ca', 'init', '--data-dir', dataDir]);
    assert.equal(init.code, 0, init.stderr);
    const [cpPort, cpAdmin] = [await freePort(), await freePort()];
    const cp = startLimited('limited-control-plane', 256, ['control-plane', '--data-dir', dataDir, '--listen', `127.0.0.1:${cpPort}`, '--admin', `127.0.0.1:${cpAdmin}`]);
    mesh.procs.push(cp);
    await waitHttp(`http://127.0.0.1:${cpAdmin}/healthz/ready`, cp);
    const token = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'd']);
    const [inbound, app, admin] = [await freePort(), await freePort(), await freePort()];
    const appProc = start('d-app', [DEMO_APP, '--name', 'd', '--port', String(app)]);
    const sidecar = startLimited('limited-sidecar', 256, [
      'sidecar', '--control-plane', `127.0.0.1:${mesh.cpPort}`, '--token-env', 'WEFT_JOIN_TOKEN', '--namespace', 'default', '--service', 'd', '--service-port', '9080',
      '--inbound', `127.0.0.1:${inbound}`, '--app', `127.0.0.1:${app}`, '--admin', `127.0.0.1:${admin}`,
    ], { WEFT_JOIN_TOKEN: token.stdout.trim() });
    mesh.procs.push(appProc, sidecar);
    // libuv accepts and closes connections itself while descriptors are out (its reserve-descriptor
    // trick), so a refusal may never reach the listener as an error: what must hold is that
    // nothing exits and everything serves again once the deadline frees descriptors.
    await waitHttp(`http://127.0.0.1:${admin}/healthz/ready`, sidecar);
    await waitFor(async () => (await getViaProxy(a.outboundPort, 'd.default:9080')).status === 200, 30_000, () => 'a cannot reach d');
    const floods: Flood[] = [];
    try {
      floods.push(await flood(inbound, 400, SHAPES.silent), await flood(cpPort, 400, SHAPES.silent), await flood(cpAdmin, 400, SHAPES.silent));
      t.diagnostic(`descriptors at the limit of 256: sidecar ${fdCount(pidOf(sidecar))}, control plane ${fdCount(pidOf(cp))}`);
      // An answer, not a hang: 200 while d's pooled connection to its app lives, an error answer
      // (502/503) if d needs a new descriptor to reach its app while none is left.
      const during = await getViaProxy(a.outboundPort, 'd.default:9080');
      assert.ok(during.status === 200 || during.status === 502 || during.status === 503, `${during.status}: ${during.body}`);
      await waitFor(() => floods.every((f) => f.closed() === 400), 120_000, () => floods.map((f) => 400 - f.closed()).join(', ') + ' still open');
    } finally {
      floods.forEach((f) => f.destroy());
    }
    assert.ok(alive(sidecar), `sidecar exited:\n${sidecar.output().slice(-2000)}`);
    assert.ok(alive(cp), `control plane exited:\n${cp.output().slice(-2000)}`);
    await waitHttp(`http://127.0.0.1:${cpAdmin}/healthz/ready`, cp);
    await waitHttp(`http://127.0.0.1:${admin}/healthz/ready`, sidecar);
    assert.equal((await getViaProxy(a.outboundPort, 'd.default:9080')).status, 200);
  });
});
