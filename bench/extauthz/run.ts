// The cost of CUSTOM (issue 11 §2): requests per second through a sidecar pair (the app's
// HTTP/1.1 to its outbound proxy, HTTP/2 over mTLS to the serving sidecar, the app) with no
// policy, then with a CUSTOM policy sending every request to an ext_authz provider (the example
// server, in its own process), HTTP and gRPC, without a decision cache and with one serving a
// 90 % hit mix (bench/extauthz/mix.lua: 10 hot callers, 10 % callers never seen). Load: wrk.
//
//   node --import tsx bench/extauthz/run.ts        env: BENCH_SECONDS=8 CONNECTIONS=16
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { defaultMeshConfigSpec, type ExtensionProvider } from '../../src/config/index.js';
import { compilePolicies } from '../../src/policy/index.js';
import { fromYaml } from '../../src/policy/testing/fixtures.js';
import { ExtAuthz } from '../../src/proxy/index.js';
import { providerUses } from '../../src/sidecar/active-config.js';
import { authz, startRig } from '../../test/security/helpers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));

async function startProvider(): Promise<{ child: ChildProcess; http: number; grpc: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', here('../../examples/ext-authz/server.ts'), '--rules', here('rules.yaml'), '--http-port', '0', '--grpc-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const ports = JSON.parse(line.toString()) as { http: number; grpc: number };
  return { child, ...ports };
}

/** wrk in its own process; awaited, never spawnSync: the sidecars run on this event loop. */
async function wrk(port: number): Promise<number> {
  const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', here('mix.lua'), `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await once(child, 'close');
  const out = { stdout, stderr };
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out.stdout);
  if (process.env.BENCH_DEBUG) process.stderr.write(out.stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out.stdout);
  if (m === null) throw new Error(`wrk: ${out.stdout}${out.stderr}`);
  if (errors !== null) throw new Error(`wrk saw ${errors[1]} failed responses`);
  return Number(m[1]);
}

const rig = await startRig();
const provider = await startProvider();
const ext = new ExtAuthz();
const policy = authz('ext', '  action: CUSTOM\n  provider: { name: p }\n  rules: [{}]');
const use = (p: ExtensionProvider | undefined): void => {
  if (p === undefined) return rig.use(undefined);
  const resources = fromYaml(policy);
  const compiled = compilePolicies({ mesh: { ...defaultMeshConfigSpec(), extensionProviders: [p] }, workload: { namespace: 'default', labels: { app: 'details' } }, resources });
  rig.use({ compiled, normalization: 'BASE', acceptPlaintext: false, extAuthz: ext.prepare(providerUses(compiled, resources)) });
};
const cache = { maxEntries: 100_000, defaultTtl: '5m' };
const http = (extra: object = {}): ExtensionProvider => ({ name: 'p', envoyExtAuthzHttp: { service: '127.0.0.1', port: provider.http, timeout: '2s', includeRequestHeadersInCheck: ['x-user'], ...extra } });
const grpc = (extra: object = {}): ExtensionProvider => ({ name: 'p', envoyExtAuthzGrpc: { service: '127.0.0.1', port: provider.grpc, timeout: '2s', ...extra } });
const scenarios: [string, ExtensionProvider | undefined][] = [
  ['no CUSTOM policy', undefined],
  ['CUSTOM, HTTP provider, no cache', http()],
  ['CUSTOM, HTTP provider, cache (90 % hits)', http({ cache })],
  ['CUSTOM, gRPC provider, no cache', grpc()],
  ['CUSTOM, gRPC provider, cache (90 % hits)', grpc({ cache })],
];
const rows: string[] = [];
let base = 0;
try {
  for (const [name, p] of scenarios) {
    use(p);
    await wrk(rig.outboundPort); // warm-up run: JIT, connections, and the hot callers' cache entries
    const rps = await wrk(rig.outboundPort);
    if (p === undefined) base = rps;
    const hits = ext.providers().p?.cache;
    rows.push(`| ${name} | ${Math.round(rps)} | ${base === 0 ? '' : `${Math.round((rps / base) * 100)} %`} | ${hits === undefined ? '' : `${Math.round((hits.hits / Math.max(1, hits.hits + hits.misses)) * 100)} %`} |`);
  }
} finally {
  provider.child.kill('SIGTERM');
  ext.close();
  await rig.close();
}
process.stdout.write(`| path | requests/s | vs no CUSTOM | cache hit rate |\n|---|---|---|---|\n${rows.join('\n')}\n`);
