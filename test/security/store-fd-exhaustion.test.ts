// A flood of silent connections that exhausts the control plane's file descriptors must not crash
// it, and must not make its configuration store read "cannot open" as "the file is gone": the
// rescan fails, is logged and retried, nothing is removed, and once the flood ends the store
// converges (a hand edit made meanwhile takes effect). The control plane runs under a low
// `ulimit -n`, as a real process on 127.0.0.1.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { WEFT_BIN, runWeft, tempDir } from '../helpers/cli.js';
import { freePort, httpStatus, start, stop, waitHttp, type Proc } from '../helpers/mesh.js';

const LIMIT = 128;

const policy = (name: string, method: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: shop
spec:
  action: DENY
  rules:
  - to:
    - operation:
        methods: [${method}]
`;

async function until(what: string, cond: () => boolean, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${what}:\n${proc.output().slice(-4_000)}`);
    if (performance.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms:\n${proc.output().slice(-4_000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const openFds = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
};

describe('control plane out of file descriptors', { timeout: 240_000 }, () => {
  const tmp = tempDir();
  const procs: Proc[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await stop(procs);
    tmp.cleanup();
  });

  test('a connection flood under a low ulimit crashes nothing, removes nothing, and the store converges after it', async () => {
    const dataDir = join(tmp.dir, 'data');
    assert.equal((await runWeft(['ca', 'init', '--data-dir', dataDir])).code, 0);
    const resources = join(dataDir, 'config', 'resources', 'AuthorizationPolicy', 'shop');
    mkdirSync(resources, { recursive: true });
    writeFileSync(join(resources, 'a.yaml'), policy('a', 'DELETE'));
    writeFileSync(join(resources, 'b.yaml'), policy('b', 'PATCH'));
    const [port, admin] = [await freePort(), await freePort()];
    const cp = start(
      'control-plane',
      ['-c', `ulimit -n ${LIMIT} && exec "$0" "$1" control-plane --data-dir "$2" --listen 127.0.0.1:${port} --admin 127.0.0.1:${admin}`, process.execPath, WEFT_BIN, dataDir],
      {},
      '/bin/bash',
    );
    procs.push(cp);
    await waitHttp(`http://127.0.0.1:${admin}/healthz/ready`, cp, 60_000);
    const committed = (name: string) => join(dataDir, 'config', '.committed', 'AuthorizationPolicy', 'shop', `${name}.yaml`);
    await until('adopting both files', () => existsSync(committed('a')) && existsSync(committed('b')), cp);
    const pid = cp.child.pid!;

    // Open silent connections until the control plane holds every descriptor it may.
    for (let i = 0; i < LIMIT * 3 && openFds(pid) < LIMIT; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.push(s);
      if (i % 16 === 15) await new Promise((r) => setTimeout(r, 50));
    }
    await until('out of descriptors', () => openFds(pid) >= LIMIT - 1, cp, 30_000);

    // A rescan now: a touched file and a hand edit, while no file can be opened.
    const failuresBefore = (cp.output().match(/config\.rescan_failed/g) ?? []).length;
    const now = new Date();
    utimesSync(join(resources, 'b.yaml'), now, now);
    writeFileSync(join(resources, 'a.yaml'), policy('a', 'PUT'));
    await until('a failed rescan logged', () => (cp.output().match(/config\.rescan_failed/g) ?? []).length > failuresBefore, cp);
    assert.match(cp.output(), /^(?=.*"event":"config\.rescan_failed")(?=.*(EMFILE|ENFILE)).*$/m);
    assert.equal(cp.child.exitCode, null, 'the control plane is alive');
    assert.ok(existsSync(committed('a')) && existsSync(committed('b')), 'no resource was removed');
    assert.doesNotMatch(cp.output(), /"change":"deleted"/);

    // The flood ends: the store catches up with the hand edit, and nothing else changed.
    for (const s of sockets.splice(0)) s.destroy();
    await until('the store converged', () => /config\.rescan_recovered/.test(cp.output()) && /PUT/.test(readFileSync(committed('a'), 'utf8')), cp, 90_000);
    assert.match(readFileSync(committed('b'), 'utf8'), /PATCH/);
    assert.doesNotMatch(cp.output(), /"change":"deleted"/);
    assert.match(cp.output(), /^(?=.*"event":"config\.file_changed")(?=.*"resource":"AuthorizationPolicy\/shop\/a").*$/m);
    assert.equal(await httpStatus(`http://127.0.0.1:${admin}/healthz/ready`), 200);
    assert.equal(cp.child.exitCode, null);
  });
});
