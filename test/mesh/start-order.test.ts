// Start order does not matter: a sidecar started before its control plane keeps trying (with
// backoff, each attempt logged) and becomes ready once the control plane is up; a bounded wait
// ends with a clear message; a refused token ends it at once. Real processes on 127.0.0.1.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { DEMO_APP, freePort, httpStatus, start, startWeft, stop, waitHttp, type Proc } from '../helpers/mesh.js';

async function waitFor(what: string, cond: () => boolean, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms:\n${proc.output()}`);
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}) before ${what}:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('sidecar start order', { timeout: 180_000 }, () => {
  const tmp = tempDir();
  const dataDir = join(tmp.dir, 'data');
  const procs: Proc[] = [];
  after(async () => {
    await stop(procs);
    tmp.cleanup();
  });

  async function sidecarFor(service: string, cpPort: number, extra: string[] = []) {
    const token = await runWeft(['token', 'create', '--data-dir', dataDir, '-n', 'default', '--service-account', service]);
    assert.equal(token.code, 0, token.stderr);
    const [appPort, inboundPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const app = start(`${service}-app`, [DEMO_APP, '--name', service, '--version', 'v1', '--port', String(appPort), '--calls', '']);
    const sidecar = startWeft(
      `${service}-sidecar`,
      ['sidecar', '--control-plane', `127.0.0.1:${cpPort}`, '--token-env', 'T', '--namespace', 'default', '--service', service,
        '--inbound', `127.0.0.1:${inboundPort}`, '--app', `127.0.0.1:${appPort}`, '--admin', `127.0.0.1:${adminPort}`, ...extra],
      { T: token.stdout.trim() },
    );
    procs.push(app, sidecar);
    return { sidecar, app, adminPort, token: token.stdout.trim() };
  }

  test('a sidecar started before its control plane retries, is not ready meanwhile, and becomes ready once it starts', async () => {
    const init = await runWeft(['ca', 'init', '--data-dir', dataDir]);
    assert.equal(init.code, 0, init.stderr);
    const [cpPort, cpAdmin] = [await freePort(), await freePort()];
    const { sidecar, adminPort } = await sidecarFor('details', cpPort);
    await waitFor('two logged attempts', () => (sidecar.output().match(/control_plane\.unreachable/g) ?? []).length >= 2, sidecar);
    assert.match(sidecar.output(), /"attempt":2/);
    assert.notEqual(await httpStatus(`http://127.0.0.1:${adminPort}/healthz/ready`), 200, 'not ready without an SVID');
    const cp = startWeft('control-plane', ['control-plane', '--data-dir', dataDir, '--listen', `127.0.0.1:${cpPort}`, '--admin', `127.0.0.1:${cpAdmin}`]);
    procs.push(cp);
    await waitHttp(`http://127.0.0.1:${adminPort}/healthz/ready`, sidecar, 60_000);
    assert.match(sidecar.output(), /control_plane\.reached/);
    assert.match(sidecar.output(), /sidecar ready: spiffe:\/\/cluster\.local\/ns\/default\/sa\/details/);
    const certs = (await (await fetch(`http://127.0.0.1:${adminPort}/certs`)).json()) as { spiffeId: string };
    assert.equal(certs.spiffeId, 'spiffe://cluster.local/ns/default/sa/details');
  });

  test('with a small bound it gives up with a clear message and exit 1', async () => {
    const nobody = await freePort();
    const { sidecar } = await sidecarFor('ratings', nobody, ['--wait-for-control-plane', '2s']);
    assert.equal(await sidecar.exited, 1, sidecar.output());
    assert.match(sidecar.output(), new RegExp(`gave up on the control plane at 127\\.0\\.0\\.1:${nobody} after \\d+ attempts over 2 s \\(--wait-for-control-plane\\): cannot reach the control plane at 127\\.0\\.0\\.1:${nobody}: ECONNREFUSED`));
    assert.ok((sidecar.output().match(/control_plane\.unreachable/g) ?? []).length >= 2, sidecar.output());
  });

  test('a refused (forged) token is not retried: the sidecar exits at once with the reason', async () => {
    const cpPort = Number(/grpc 127\.0\.0\.1:(\d+)/.exec(procs.find((p) => p.name === 'control-plane')!.output())?.[1]);
    assert.ok(cpPort > 0);
    const token = await runWeft(['token', 'create', '--data-dir', dataDir, '-n', 'default', '--service-account', 'productpage']);
    const [head, claims, signature] = token.stdout.trim().split('.') as [string, string, string];
    const forged = `${head}.${claims}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const p = startWeft('forged-sidecar', ['sidecar', '--control-plane', `127.0.0.1:${cpPort}`, '--token-env', 'T', '--namespace', 'default', '--service', 'productpage', '--inbound', '127.0.0.1:0', '--app', '127.0.0.1:1'], { T: forged });
    procs.push(p);
    assert.equal(await p.exited, 1, p.output());
    assert.match(p.output(), /refused the join token: .*WEFT_TOKEN_FORGED/);
    assert.doesNotMatch(p.output(), /control_plane\.unreachable/);
  });
});
