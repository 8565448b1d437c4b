// Join token files are private: `weft token create --out FILE` writes the token with mode 0600
// whatever the umask, atomically, and never replaces an existing file (or a symlink) unless told
// to with --force; a refused --out creates no token. A sidecar warns once at start, naming the file
// and its mode, when its --token-file gives group or others any access.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { freePort, startControlPlane, startWeft, stop, waitHttp, type Mesh } from '../helpers/mesh.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('join token files', { timeout: 120_000 }, () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  const create = (out: string, ...extra: string[]) => runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'reviews', '--out', out, ...extra]);
  const tokenCount = async () => {
    const r = await runWeft(['token', 'list', '--data-dir', mesh.dataDir, '-o', 'json']);
    return (JSON.parse(r.stdout) as unknown[]).length;
  };

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
  });
  after(async () => {
    await stop(mesh?.procs ?? []);
    dir?.cleanup();
  });

  test('ok/--out writes the token alone, mode 0600 even under a permissive umask, nothing on stdout', async () => {
    const out = join(dir.dir, 'sub', 'reviews.token');
    const previous = process.umask(0);
    let r;
    try {
      r = await create(out);
    } finally {
      process.umask(previous);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`written to ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(0600\\)`));
    assert.equal(modeOf(out), 0o600);
    assert.match(readFileSync(out, 'utf8'), /^eyJ[A-Za-z0-9_.-]+\n$/);
    assert.deepEqual(readdirSync(join(dir.dir, 'sub')), ['reviews.token'], 'no temporary file is left behind');
  });

  test('fail/an existing file is refused without --force, unchanged, and no token is created', async () => {
    const out = join(dir.dir, 'existing.token');
    writeFileSync(out, 'keep me\n', { mode: 0o644 });
    const before = await tokenCount();
    const r = await create(out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists: give --force to replace it/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me\n');
    assert.equal(await tokenCount(), before);
  });

  test('fail/a symlink, even a dangling one, is refused without --force and not followed', async () => {
    const target = join(dir.dir, 'elsewhere.txt');
    const link = join(dir.dir, 'link.token');
    symlinkSync(target, link);
    const r = await create(link);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists/);
    assert.equal(existsSync(target), false);
  });

  test('ok/--force replaces an existing file, which ends up 0600 with the new token', async () => {
    const out = join(dir.dir, 'replaced.token');
    writeFileSync(out, 'old\n', { mode: 0o644 });
    const r = await create(out, '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(modeOf(out), 0o600);
    assert.match(readFileSync(out, 'utf8'), /^eyJ/);
  });

  test('fail/--force without --out is a usage error', async () => {
    const r = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'default', '--service-account', 'reviews', '--force']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--force only applies with --out FILE/);
  });

  test('a sidecar warns, naming the file and its mode, when its token file is readable by others; not when it is 0600', async () => {
    const start = async (name: string, mode: number) => {
      const file = join(dir.dir, `${name}.token`);
      assert.equal((await create(file)).code, 0);
      chmodSync(file, mode);
      const [inbound, app, admin] = [await freePort(), await freePort(), await freePort()];
      const proc = startWeft(name, [
        'sidecar', '--control-plane', `127.0.0.1:${mesh.cpPort}`, '--token-file', file, '--namespace', 'default', '--service', 'reviews',
        '--inbound', `127.0.0.1:${inbound}`, '--app', `127.0.0.1:${app}`, '--admin', `127.0.0.1:${admin}`,
        // No app runs behind it: readiness here is about the token, not the app's health.
        '--app-health', 'none',
      ]);
      mesh.procs.push(proc);
      await waitHttp(`http://127.0.0.1:${admin}/healthz/ready`, proc);
      return { file, proc };
    };
    const open = await start('open', 0o644);
    const closed = await start('closed', 0o600);
    const warnings = open.proc.output().split('\n').filter((l) => l.includes('sidecar.token_file.exposed'));
    assert.equal(warnings.length, 1, open.proc.output());
    const line = JSON.parse(warnings[0]!) as { level: number; file: string; mode: string };
    assert.deepEqual([line.level, line.file, line.mode], [40, open.file, '0644']);
    assert.doesNotMatch(closed.proc.output(), /token_file/);
    await stop([open.proc, closed.proc]);
  });
});
