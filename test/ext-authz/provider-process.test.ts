// The example authorization server as its own process, killed while the sidecar holds live
// connections to it: every later check fails, closed (statusOnError) or open (failOpen) as the
// provider says, and the next provider process on the same ports is used again.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { within } from '../proxy/helpers.js';
import { custom, startExtRig, type ExtRig } from './helpers.js';

const SERVER = fileURLToPath(new URL('../../examples/ext-authz/server.ts', import.meta.url));
const RULES = fileURLToPath(new URL('../../examples/ext-authz/rules.yaml', import.meta.url));

async function spawnProvider(ports: { http: number; grpc: number } = { http: 0, grpc: 0 }): Promise<{ child: ChildProcess; http: number; grpc: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, '--rules', RULES, '--http-port', String(ports.http), '--grpc-port', String(ports.grpc)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await within(30_000, 'provider start', once(child.stdout!, 'data'))) as [Buffer];
  return { child, ...(JSON.parse(line.toString()) as { http: number; grpc: number }) };
}

let x: ExtRig;
before(async () => {
  x = await startExtRig();
});
after(async () => {
  await x.close();
});

for (const kind of ['http', 'grpc'] as const) {
  test(`fail/${kind}: the provider process is killed: fail closed, or open with failOpen; a restarted provider is used again`, async () => {
    let p = await spawnProvider();
    try {
      const providers = (failOpen: boolean) => [kind === 'http'
        ? { name: 'proc', envoyExtAuthzHttp: { service: '127.0.0.1', port: p.http, timeout: '2s', failOpen } }
        : { name: 'proc', envoyExtAuthzGrpc: { service: '127.0.0.1', port: p.grpc, timeout: '2s', failOpen } }];
      x.use(providers(false), custom('proc'));
      assert.equal((await x.send('/public/a')).status, 200);
      assert.equal((await x.send('/secure/admin/a')).status, 451);
      p.child.kill('SIGKILL');
      await once(p.child, 'exit');
      const closed = await x.send('/public/a');
      assert.equal(closed.status, 403);
      assert.match(String(closed.headers['x-weft-proxy-error']), /^UAEX WEFT_EXTAUTHZ_FAILED: provider "proc" failed/);
      x.use(providers(true), custom('proc'));
      assert.equal((await x.send('/secure/admin/a')).status, 200, 'failOpen: the request goes on (no DENY or ALLOW policy stops it)');
      const ports = { http: p.http, grpc: p.grpc };
      p = await spawnProvider(ports);
      x.use(providers(false), custom('proc'));
      // The client reconnects with backoff; the provider's answers come back within a bounded wait.
      let status = 0;
      for (let i = 0; i < 50 && status !== 451; i++) {
        status = (await x.send('/secure/admin/a')).status;
        if (status !== 451) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(status, 451);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
}
