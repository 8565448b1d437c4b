// The CLI reads like kubectl and istioctl: asserted on the built bin/weft.js as a real process.
// Durations print and parse as durations, addresses as HOST:PORT, required flags are marked, every
// --help has an example, `ca init` says when it kept a CA, `sidecar --print-env` prints the app's
// proxy environment, and the intermediate recipe of docs/operations.md works as written.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { buildProgram } from '../src/cli/main.js';
import { commandPaths } from '../src/cli/help.js';
import { runCommand, runWeft, tempDir, WEFT_BIN } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `items` through `fn`, `width` at a time: a help page per command without starving the machine. */
async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

describe('CLI conventions', () => {
  const tmp = tempDir('weft-cli-conv-');
  after(() => tmp.cleanup());

  test('every command, the root included, answers --help with an example line', { timeout: 180_000 }, async () => {
    const paths = commandPaths(buildProgram());
    assert.ok(paths.length > 15, `only ${paths.length} commands found`);
    const pages = await inBatches(paths, 4, async (path) => ({ path, r: await runWeft([...(path === '' ? [] : path.split(' ')), '--help']) }));
    for (const { path, r } of pages) {
      assert.equal(r.code, 0, `weft ${path} --help: ${r.stderr}`);
      assert.match(r.stdout, /\nExample:\n {2}weft \S/, `weft ${path} --help has no example:\n${r.stdout}`);
      assert.doesNotMatch(r.stdout, /default: \{/, `weft ${path} --help prints a default as JSON:\n${r.stdout}`);
    }
  });

  test('durations print as durations, addresses as HOST:PORT, and required flags are marked', async () => {
    // Commander wraps at 80 columns: compare with the whitespace collapsed.
    const [caInit, cp, sidecar, token] = (
      await Promise.all([runWeft(['ca', 'init', '--help']), runWeft(['control-plane', '--help']), runWeft(['sidecar', '--help']), runWeft(['token', 'create', '--help'])])
    ).map((r) => r.stdout.replace(/\s+/g, ' '));
    assert.match(caInit!, /--root-ttl <duration> lifetime of a new self-signed root \(default: 87600h\)/);
    assert.doesNotMatch(caInit!, /315360000000|3650d/);
    assert.match(cp!, /--listen <host:port> gRPC address for sidecars \(default: 127\.0\.0\.1:15012\)/);
    assert.match(cp!, /--admin <host:port> admin address: health and readiness \(HTTP\), admin API \(TLS\) \(default: 127\.0\.0\.1:15000\)/);
    assert.match(cp!, /--lease <duration> [^(]*\(default: 15s\)/);
    assert.match(sidecar!, /--svid-ttl <duration> requested SVID lifetime, e\.g\. 1h/);
    assert.match(sidecar!, /--wait-for-control-plane <duration> [^-]*\(default: 3m\)/);
    assert.match(sidecar!, /--control-plane <host:port> gRPC address of the control plane \(required\)/);
    assert.match(sidecar!, /--inbound <host:port> mTLS listener other sidecars call \(required\)/);
    assert.match(sidecar!, /--outbound <host:port> HTTP proxy for the application's outgoing calls \(CONNECT SERVICE\.NAMESPACE:PORT for TCP\) --admin/);
    assert.match(token!, /--ttl <duration> how long the token can be used \(default: 24h\)/);
    assert.match(token!, /--service-account <sa> service account of the identity \(required\)/);
  });

  test('--svid-ttl takes a duration like every other duration flag, and refuses a bad one', async () => {
    const ok = await runWeft(['sidecar', '--outbound', '127.0.0.1:15001', '--svid-ttl', '1h', '--print-env']);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await runWeft(['sidecar', '--outbound', '127.0.0.1:15001', '--svid-ttl', 'forever', '--print-env']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid duration "forever"/);
    const zero = await runWeft(['sidecar', '--outbound', '127.0.0.1:15001', '--svid-ttl', '0s', '--print-env']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /must be longer than zero/);
  });

  test('sidecar --print-env prints the proxy environment of the app, and needs --outbound', async () => {
    const r = await runWeft(['sidecar', '--print-env', '--outbound', '127.0.0.1:15001']);
    assert.equal(r.code, 0, r.stderr);
    const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(env.HTTP_PROXY, 'http://127.0.0.1:15001');
    assert.equal(env.HTTPS_PROXY, 'http://127.0.0.1:15001');
    assert.equal(env.grpc_proxy, 'http://127.0.0.1:15001');
    assert.equal(env.http_proxy, 'http://127.0.0.1:15001');
    assert.match(env.NO_PROXY ?? '', /(^|,)127\.0\.0\.1(,|$)/);
    assert.match(env.NO_PROXY ?? '', /(^|,)localhost(,|$)/);

    const missing = await runWeft(['sidecar', '--print-env']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--print-env needs --outbound/);
    // Without --print-env the sidecar's own flags are still required.
    const noFlags = await runWeft(['sidecar', '--outbound', '127.0.0.1:15001']);
    assert.equal(noFlags.code, 2);
    assert.match(noFlags.stderr, /required option '--control-plane <host:port>' not specified/);
  });

  test('ca init says whether it created the CA or kept the existing one', async () => {
    const dataDir = join(tmp.dir, 'ca');
    const first = await runWeft(['ca', 'init', '--data-dir', dataDir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^created the CA in /);
    const fingerprint = /root fingerprint:\s+(\S+)/.exec(first.stdout)![1]!;
    const again = await runWeft(['ca', 'init', '--data-dir', dataDir, '--root-ttl', '1h']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^kept the existing CA in .*: nothing was changed \(--root-ttl applies to a new root only\)/);
    assert.match(again.stdout, new RegExp(fingerprint));
  });

  test('the intermediate recipe of docs/operations.md runs as written and weft plugs the result in', { timeout: 120_000 }, async () => {
    const docs = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const at = docs.indexOf('### Plugging in an intermediate');
    assert.ok(at >= 0, 'docs/operations.md has no "Plugging in an intermediate" section');
    const script = /```sh\n([\s\S]*?)```/.exec(docs.slice(at))![1]!;
    const dir = join(tmp.dir, 'plugin');
    const bin = join(tmp.dir, 'bin');
    await runCommand('/bin/sh', ['-c', `mkdir -p "${dir}" "${bin}" && printf '#!/bin/sh\\nexec "%s" "%s" "$@"\\n' "${process.execPath}" "${WEFT_BIN}" > "${bin}/weft" && chmod 755 "${bin}/weft"`]);
    const r = await runCommand('/bin/sh', ['-e', '-c', script], { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /mode:\s+intermediate/);
    assert.match(r.stdout, /trust domain:\s+cluster\.local/);
    assert.ok(existsSync(join(dir, '.weft', 'ca', 'ca-key.pem')));
    const mint = await runWeft(['ca', 'mint', '--spiffe-id', 'spiffe://cluster.local/ns/a/sa/b', '--out', join(dir, 'svid'), '--data-dir', join(dir, '.weft')]);
    assert.equal(mint.code, 0, mint.stderr);
    const verify = await runCommand('/usr/bin/openssl', ['verify', '-CAfile', join(dir, 'root', 'root-cert.pem'), '-untrusted', join(dir, 'cacerts', 'ca-cert.pem'), join(dir, 'svid', 'svid.pem')]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
