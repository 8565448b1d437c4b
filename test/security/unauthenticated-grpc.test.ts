// The control plane's gRPC port against callers without a client certificate: every refused call
// ends at once with a gRPC status, and connections that present no certificate are capped and
// closed after a short lifetime; at its connection cap each port keeps its sidecars. Real
// control-plane processes; a grpc-js client built as a sidecar's first contact builds it (pinned
// root, no key pair).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ControlPlaneClient } from '../../src/agent/control-plane-client.js';
import { runWeft, tempDir } from '../helpers/cli.js';
import { startControlPlane, startWorkload, stop, type Mesh } from '../helpers/mesh.js';
import { fdCount, flood, rssKiB, SHAPES, waitFor } from './flood.js';

/** Opens Subscribe and resolves with the status it ends with, or 'open' if none came within `waitMs`. */
function subscribeStatus(client: ControlPlaneClient, waitMs: number): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const call = client.subscribe();
    const timer = setTimeout(() => {
      call.cancel();
      resolve('open');
    }, waitMs);
    call.on('data', () => undefined);
    call.on('error', (err: ServiceError) => {
      clearTimeout(timer);
      resolve(err.code);
    });
    call.on('status', (s: { code: number }) => {
      clearTimeout(timer);
      resolve(s.code);
    });
    call.write({ workloadId: 'w-unknown', version: 0, nonce: '', error: '' });
  });
}

function trustDomainOf(dataDir: string): string {
  return /^trustDomain: (\S+)$/m.exec(readFileSync(join(dataDir, 'admin.conf'), 'utf8'))![1]!;
}

describe('the control plane against callers that prove nothing', { timeout: 180_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  let capped: Mesh;
  let rootPem: string;
  let trustDomain: string;

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'));
    capped = await startControlPlane(join(tmp.dir, 'capped'), ['--max-unauthenticated-connections', '8', '--unauthenticated-lifetime', '5s', '--max-connections', '40', '--handshake-timeout', '3s']);
    rootPem = readFileSync(join(mesh.dataDir, 'ca', 'root-cert.pem'), 'utf8');
    trustDomain = trustDomainOf(mesh.dataDir);
  });
  after(async () => {
    await stop([...mesh.procs, ...capped.procs]);
    tmp.cleanup();
  });

  test('Subscribe without a client certificate ends at once with UNAUTHENTICATED, and many such calls hold nothing open', async (t) => {
    const pid = mesh.controlPlane.child.pid!;
    const client = new ControlPlaneClient(`127.0.0.1:${mesh.cpPort}`, trustDomain, { rootPem });
    try {
      // The bound is generous: "at once" is asserted as "not left open", never as a duration.
      assert.equal(await subscribeStatus(client, 20_000), grpcStatus.UNAUTHENTICATED);
      const base = { fds: fdCount(pid), rss: rssKiB(pid) };
      const N = 2000;
      const codes = new Map<number | 'open', number>();
      for (let i = 0; i < N; i += 200) {
        const batch = await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => subscribeStatus(client, 30_000)));
        for (const c of batch) codes.set(c, (codes.get(c) ?? 0) + 1);
      }
      assert.deepEqual([...codes], [[grpcStatus.UNAUTHENTICATED, N]]);
      const afterCalls = { fds: fdCount(pid), rss: rssKiB(pid) };
      t.diagnostic(`control plane after ${N} refused Subscribe calls: fds ${base.fds} -> ${afterCalls.fds}, RSS ${base.rss} -> ${afterCalls.rss} KiB`);
      assert.ok(afterCalls.fds <= base.fds + 10, `descriptors ${base.fds} -> ${afterCalls.fds}`);
    } finally {
      client.close();
    }
    assert.equal(mesh.controlPlane.child.exitCode, null);
  });

  test('connections without a client certificate are capped and closed after their lifetime', async () => {
    const sockets: TLSSocket[] = [];
    const closed = new Set<TLSSocket>();
    try {
      for (let i = 0; i < 20; i++) {
        const s = connectTls({ host: '127.0.0.1', port: capped.cpPort, ca: readFileSync(join(capped.dataDir, 'ca', 'root-cert.pem')), ALPNProtocols: ['h2'], servername: 'control-plane.weft', checkServerIdentity: () => undefined });
        s.on('error', () => undefined);
        // Read what the server sends (its SETTINGS), or 'close' would wait for a reader.
        s.resume();
        s.once('close', () => closed.add(s));
        sockets.push(s);
      }
      await waitFor(() => closed.size === 20, 60_000, () => `${20 - closed.size} of 20 connections without a certificate still open`);
    } finally {
      sockets.forEach((s) => s.destroy());
    }
    const status = await runWeft(['status', '-o', 'json', '--config', join(capped.dataDir, 'admin.conf')]);
    assert.equal(status.code, 0, status.stderr);
    const grpc = (JSON.parse(status.stdout) as { connections: { grpc: { unauthenticatedRefused: number; unauthenticatedExpired: number; unauthenticatedActive: number } } }).connections.grpc;
    // Each of the 20 was either refused (8 already open) or cut at the end of its lifetime.
    assert.equal(grpc.unauthenticatedRefused + grpc.unauthenticatedExpired, 20, JSON.stringify(grpc));
    assert.ok(grpc.unauthenticatedRefused >= 1 && grpc.unauthenticatedExpired >= 8, JSON.stringify(grpc));
    assert.equal(grpc.unauthenticatedActive, 0, JSON.stringify(grpc));
  });

  test('at their --max-connections cap the gRPC and admin ports refuse new connections and keep their sidecar', async () => {
    const w = await startWorkload(capped, { service: 'w' });
    const connected = async () => ((await (await fetch(`http://127.0.0.1:${w.adminPort}/config`)).json()) as { controlPlaneConnected: boolean }).controlPlaneConnected;
    for (const port of [capped.cpPort, capped.cpAdmin]) {
      const f = await flood(port, 200, SHAPES.silent);
      try {
        assert.equal(await connected(), true, 'the sidecar keeps its control-plane stream');
        await waitFor(() => f.closed() === 200, 60_000, () => `${200 - f.closed()} flood connections still open`);
      } finally {
        f.destroy();
      }
    }
    const status = await runWeft(['status', '-o', 'json', '--config', join(capped.dataDir, 'admin.conf')]);
    assert.equal(status.code, 0, status.stderr);
    const c = (JSON.parse(status.stdout) as { connections: { grpc: { refused: number }; admin: { refused: number } } }).connections;
    assert.ok(c.grpc.refused >= 100 && c.admin.refused >= 100, JSON.stringify(c));
    assert.equal(await connected(), true);
  });
});
