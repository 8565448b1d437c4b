// The datapath benchmark (issue 3 §5): wrk against the app directly, a weft sidecar pair, an nginx
// pair and an haproxy pair (mTLS between the two proxies of each pair, keep-alive upstreams), in
// interleaved rounds. HTTP/2 columns (issue 9): h2load, multiplexed, against weft's outbound h2c
// and an nginx pair's h2c listener (`weft-h2`, `nginx-h2`), and gRPC unary calls to a grpc-js app
// through weft and through an nginx grpc_pass pair over mTLS (`weft-grpc`, `nginx-grpc`). Prints req/s at 1 and 64 connections, p50/p99 latency, CPU seconds per 1,000
// requests for each proxy (from /proc/<pid>/stat), RSS, and each path's ratio to the nginx pair.
//
//   node --import tsx bench/datapath/run.ts
//   env: DURATION=10 ROUNDS=3 TARGETS=direct,weft,weft-policy,node-floor,nginx,haproxy,weft-h2,nginx-h2,weft-grpc,nginx-grpc CONNECTIONS=1,64 WEFT_NODE_ARGS='--cpu-prof'
//
// `weft-policy` is the weft pair with a realistic policy set in force on the server side (ten
// resources: STRICT mTLS, a RequestAuthentication with an inline JWKS, DENY/ALLOW/AUDIT policies;
// bench/datapath/policies.ts); wrk sends a valid JWT on every request. `node-floor` is the least
// a Node.js pair can do for the same hop (bench/datapath/node-floor.ts): what the platform costs.
//
// Needs wrk, h2load, nginx and haproxy (Debian: apt-get install wrk nghttp2-client nginx haproxy). Every process it
// starts is stopped by PID at the end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { CertificateAuthority } from '../../src/ca/index.js';
import { freePort } from '../../src/cli/up/processes.js';
import { policySet } from './policies.js';
import { appNginx, haproxyClientSide, haproxyServerSide, nginxClientSide, nginxGrpcClientSide, nginxGrpcServerSide, nginxH2ClientSide, nginxServerSide, type PkiPaths } from './peers.js';

const DURATION = Number(process.env.DURATION ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TARGETS = (process.env.TARGETS ?? 'direct,weft,weft-policy,node-floor,nginx,haproxy,weft-h2,nginx-h2,weft-grpc,nginx-grpc').split(',');
const CONNECTIONS = (process.env.CONNECTIONS ?? '1,64').split(',').map(Number);
const WORK = resolve('.weft/bench/datapath');
const TD = 'cluster.local';
const HOST = 'details.default';
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

interface Proc {
  name: string;
  child: ChildProcess;
  log: () => string;
}
const procs: Proc[] = [];

function start(name: string, file: string, args: string[]): Proc {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const p = { name, child, log: () => log };
  procs.push(p);
  return p;
}

async function stopAll(): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((r) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return r();
          const t = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
          p.child.once('exit', () => (clearTimeout(t), r()));
        }),
    ),
  );
}

/** Waits (bounded) until something accepts TCP on `port`, or `proc` exits. */
async function waitPort(port: number, proc: Proc): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited: ${proc.log()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name} does not listen on ${port}: ${proc.log()}`);
}

// === process accounting from /proc ===

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function tree(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(tree)];
}

/** utime + stime of a process tree, in seconds. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').slice(readFileSync(`/proc/${p}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / TICKS;
}

/** VmRSS of a process tree, MB. */
function rssMb(pid: number): number {
  let kb = 0;
  for (const p of tree(pid)) {
    try {
      kb += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

// === setup ===

/** SVIDs minted by the weft CA, as `weft ca mint` does (same code path), for every pair alike. */
async function makePki(dir: string): Promise<PkiPaths & { client: object; server: object }> {
  const authority = CertificateAuthority.init(join(dir, 'ca'), { trustDomain: TD });
  const mint = (sa: string) => authority.mint(`spiffe://${TD}/ns/default/sa/${sa}`, { ttlMs: 3_600_000, credential: { kind: 'operator', name: 'bench/datapath' } });
  const client = mint('productpage');
  const server = mint('details');
  const w = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const chain = (s: typeof client): string => [s.leafPem, ...s.chainPem].join('');
  const paths: PkiPaths = {
    bundle: w('bundle.pem', client.bundlePem),
    clientCert: w('client-cert.pem', chain(client)),
    clientKey: w('client-key.pem', client.keyPem),
    clientCombined: w('client-combined.pem', chain(client) + client.keyPem),
    serverCert: w('server-cert.pem', chain(server)),
    serverKey: w('server-key.pem', server.keyPem),
    serverCombined: w('server-combined.pem', chain(server) + server.keyPem),
  };
  const identity = (s: typeof client) => ({ spiffeId: s.spiffeId, trustDomain: TD, keyPem: s.keyPem, certChainPem: chain(s), bundlePem: s.bundlePem });
  return { ...paths, client: identity(client), server: identity(server) };
}

function startNginx(name: string, conf: string): Proc {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf.replaceAll('%DIR%', dir));
  return start(name, '/usr/sbin/nginx', ['-p', dir, '-c', file, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
}

function startHaproxy(name: string, conf: string): Proc {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, conf);
  return start(name, '/usr/sbin/haproxy', ['-f', file, '-db']);
}

async function startWeft(name: string, config: object): Promise<{ proc: Proc; ports: { inboundPort: number; outboundPort?: number } }> {
  const file = join(WORK, `${name}.json`);
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  // WEFT_NODE_ARGS: extra node flags for the sidecars, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.WEFT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = start(name, process.execPath, [...nodeArgs, join(WORK, 'build/bench/datapath/sidecar.js'), file]);
  for (let i = 0; i < 200 && !proc.log().includes('\n'); i++) {
    if (proc.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const line = proc.log().split('\n')[0]!;
  try {
    return { proc, ports: JSON.parse(line) as { inboundPort: number; outboundPort?: number } };
  } catch {
    throw new Error(`${name} did not start: ${proc.log()}`);
  }
}

interface Target {
  name: string;
  port: number;
  /** The proxies whose CPU and memory count: [client side, server side]. */
  proxies: Proc[];
  /** Extra request headers (`name: value`) wrk and the first check send. */
  headers?: string[];
  /** What drives it: wrk (HTTP/1.1, the default), h2load over h2c, or h2load sending gRPC unary calls. */
  load?: 'h2' | 'grpc';
  /** The path it is compared with. */
  ref?: string;
}

// === load ===

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  cpu: number[];
}

function parseMs(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

function wrk(t: Target, connections: number, seconds: number): Sample {
  const before = t.proxies.map((p) => cpuSeconds(p.child.pid!));
  const threads = Math.min(connections, 2);
  const headers = [`Host: ${HOST}`, ...(t.headers ?? [])].flatMap((h) => ['-H', h]);
  const out = execFileSync('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', ...headers, `http://127.0.0.1:${t.port}/`], {
    encoding: 'utf8',
  });
  const after = t.proxies.map((p) => cpuSeconds(p.child.pid!));
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50: parseMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: parseMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    requests,
    errors,
    cpu: after.map((a, i) => ((a - before[i]!) / Math.max(requests, 1)) * 1000),
  };
}

/** One gRPC message (uncompressed, length-prefixed) for h2load's request body. */
const GRPC_BODY = Buffer.concat([Buffer.from([0, 0, 0, 0, 5]), Buffer.from('hello')]);
const GRPC_PATH = '/weft.bench.Echo/Unary';

/**
 * h2load, multiplexed: `connections` concurrent streams spread over up to 4 connections. h2load
 * reports no percentiles: p50 holds its mean request time and p99 its maximum.
 */
function h2load(t: Target, connections: number, seconds: number): Sample {
  const before = t.proxies.map((p) => cpuSeconds(p.child.pid!));
  const conns = Math.min(connections, 4);
  const streams = Math.max(1, Math.ceil(connections / conns));
  const grpc = t.load === 'grpc' ? ['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', join(WORK, 'grpc-body.bin')] : [];
  const out = execFileSync('h2load', ['-t', '1', '-c', String(conns), '-m', String(streams), '-D', String(seconds), '-H', `:authority: ${HOST}:9080`, ...grpc, `http://127.0.0.1:${t.port}${t.load === 'grpc' ? GRPC_PATH : '/'}`], {
    encoding: 'utf8',
  });
  const after = t.proxies.map((p) => cpuSeconds(p.child.pid!));
  const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const requests = Number(done?.[2] ?? 0);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  return {
    rps: Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0),
    p50: parseMs(time?.[3] ?? ''),
    p99: parseMs(time?.[2] ?? ''),
    requests,
    errors: Number(done?.[3] ?? 0) + Number(done?.[4] ?? 0),
    cpu: after.map((a, i) => ((a - before[i]!) / Math.max(requests, 1)) * 1000),
  };
}

const load = (t: Target, connections: number, seconds: number): Sample => (t.load === undefined ? wrk(t, connections, seconds) : h2load(t, connections, seconds));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// === main ===

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'bench/datapath/tsconfig.json'], { stdio: 'inherit' });
  const pki = await makePki(WORK);
  const appPort = await freePort();
  const app = startNginx('app', appNginx('%DIR%', appPort));
  await waitPort(appPort, app);
  const targets: Target[] = [];
  if (TARGETS.includes('direct')) targets.push({ name: 'direct', port: appPort, proxies: [] });
  const weftPair = async (name: string, policy?: object): Promise<Target> => {
    const server = await startWeft(`${name}-server`, { identity: pki.server, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: appPort }, services: {}, ...(policy ? { policy } : {}) });
    const sid = (pki.server as { spiffeId: string }).spiffeId;
    const client = await startWeft(`${name}-client`, {
      identity: pki.client,
      inbound: { host: '127.0.0.1', port: 0 },
      app: { host: '127.0.0.1', port: 9 },
      outbound: { host: '127.0.0.1', port: 0 },
      services: { [HOST]: { endpoints: [{ address: '127.0.0.1', port: server.ports.inboundPort, spiffeId: sid, labels: {} }], identities: [sid] } },
    });
    return { name, port: client.ports.outboundPort!, proxies: [client.proc, server.proc] };
  };
  if (TARGETS.includes('weft')) targets.push(await weftPair('weft'));
  if (TARGETS.includes('weft-policy')) {
    const principal = (pki.client as { spiffeId: string }).spiffeId.replace('spiffe://', '');
    const { token, resources } = await policySet(principal);
    const target = await weftPair('weft-policy', { namespace: 'default', labels: { app: 'details', version: 'v1' }, resources });
    targets.push({ ...target, headers: [`Authorization: Bearer ${token}`] });
  }
  if (TARGETS.includes('node-floor')) {
    const floor = async (name: string, args: string[]): Promise<Proc> => {
      const nodeArgs = (process.env.WEFT_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const proc = start(name, process.execPath, [...nodeArgs, join(WORK, 'build/bench/datapath/node-floor.js'), ...args]);
      for (let i = 0; i < 200 && !proc.log().includes('\n'); i++) {
        if (proc.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!/^\d+\n/.test(proc.log())) throw new Error(`${name} did not start: ${proc.log()}`);
      return proc;
    };
    const server = await floor('node-floor-server', ['server', '0', String(appPort), pki.serverCert, pki.serverKey, pki.bundle]);
    const serverPort = Number(server.log().split('\n')[0]);
    const client = await floor('node-floor-client', ['client', '0', String(serverPort), pki.clientCert, pki.clientKey, pki.bundle]);
    targets.push({ name: 'node-floor', port: Number(client.log().split('\n')[0]), proxies: [client, server] });
  }
  if (TARGETS.includes('nginx')) {
    const [p1, p2] = [await freePort(), await freePort()];
    const server = startNginx('nginx-server', nginxServerSide('%DIR%', p2, appPort, pki));
    const client = startNginx('nginx-client', nginxClientSide('%DIR%', p1, p2, pki));
    await waitPort(p2, server);
    await waitPort(p1, client);
    targets.push({ name: 'nginx', port: p1, proxies: [client, server] });
  }
  if (TARGETS.includes('weft-h2')) targets.push({ ...(await weftPair('weft-h2')), load: 'h2', ref: 'nginx-h2' });
  if (TARGETS.includes('nginx-h2')) {
    const [p1, p2] = [await freePort(), await freePort()];
    const server = startNginx('nginx-h2-server', nginxServerSide('%DIR%', p2, appPort, pki));
    const client = startNginx('nginx-h2-client', nginxH2ClientSide('%DIR%', p1, p2, pki));
    await waitPort(p2, server);
    await waitPort(p1, client);
    targets.push({ name: 'nginx-h2', port: p1, proxies: [client, server], load: 'h2', ref: 'nginx-h2' });
  }
  if (TARGETS.includes('weft-grpc') || TARGETS.includes('nginx-grpc')) {
    writeFileSync(join(WORK, 'grpc-body.bin'), GRPC_BODY);
    const grpcApp = start('grpc-app', process.execPath, [join(WORK, 'build/bench/datapath/grpc-app.js'), '0']);
    for (let i = 0; i < 200 && !grpcApp.log().includes('\n'); i++) {
      if (grpcApp.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const grpcPort = Number(grpcApp.log().split('\n')[0]);
    if (!(grpcPort > 0)) throw new Error(`grpc-app did not start: ${grpcApp.log()}`);
    if (TARGETS.includes('weft-grpc')) {
      const server = await startWeft('weft-grpc-server', { identity: pki.server, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: grpcPort }, services: {} });
      const sid = (pki.server as { spiffeId: string }).spiffeId;
      const client = await startWeft('weft-grpc-client', {
        identity: pki.client,
        inbound: { host: '127.0.0.1', port: 0 },
        app: { host: '127.0.0.1', port: 9 },
        outbound: { host: '127.0.0.1', port: 0 },
        services: { [HOST]: { endpoints: [{ address: '127.0.0.1', port: server.ports.inboundPort, spiffeId: sid, labels: {} }], identities: [sid] } },
      });
      targets.push({ name: 'weft-grpc', port: client.ports.outboundPort!, proxies: [client.proc, server.proc], load: 'grpc', ref: 'nginx-grpc' });
    }
    if (TARGETS.includes('nginx-grpc')) {
      const [p1, p2] = [await freePort(), await freePort()];
      const server = startNginx('nginx-grpc-server', nginxGrpcServerSide('%DIR%', p2, grpcPort, pki));
      const client = startNginx('nginx-grpc-client', nginxGrpcClientSide('%DIR%', p1, p2, pki));
      await waitPort(p2, server);
      await waitPort(p1, client);
      targets.push({ name: 'nginx-grpc', port: p1, proxies: [client, server], load: 'grpc', ref: 'nginx-grpc' });
    }
  }
  if (TARGETS.includes('haproxy')) {
    const [p1, p2] = [await freePort(), await freePort()];
    const server = startHaproxy('haproxy-server', haproxyServerSide(p2, appPort, pki));
    const client = startHaproxy('haproxy-client', haproxyClientSide(p1, p2, pki));
    await waitPort(p2, server);
    await waitPort(p1, client);
    targets.push({ name: 'haproxy', port: p1, proxies: [client, server] });
  }

  // A request through each path must succeed before anything is measured.
  for (const t of targets) {
    const headers = [`Host: ${HOST}`, ...(t.headers ?? [])].flatMap((h) => ['-H', h]);
    const h2 = t.load === undefined ? [] : ['--http2-prior-knowledge'];
    const grpc = t.load === 'grpc' ? ['-i', '-H', 'content-type: application/grpc', '-H', 'te: trailers', '--data-binary', `@${join(WORK, 'grpc-body.bin')}`] : [];
    const out = execFileSync('curl', ['-sS', ...h2, ...grpc, ...headers, `http://127.0.0.1:${t.port}${t.load === 'grpc' ? GRPC_PATH : '/'}`], { encoding: 'utf8' });
    if (!out.includes('hello from the app') || (t.load === 'grpc' && !/grpc-status: 0/.test(out))) throw new Error(`${t.name}: unexpected answer ${out}`);
  }
  // The policy set is in force: without the token the ALLOW rule does not match; a forged one is a 401.
  const enforced = targets.find((t) => t.name === 'weft-policy');
  if (enforced) {
    const status = (extra: string[]): string =>
      execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${HOST}`, ...extra, `http://127.0.0.1:${enforced.port}/`], { encoding: 'utf8' });
    const [none, forged] = [status([]), status(['-H', 'Authorization: Bearer eyJhbGciOiJub25lIn0.e30.'])];
    if (none !== '403' || forged !== '401') throw new Error(`weft-policy: expected 403 without a token and 401 with a forged one, got ${none} and ${forged}`);
  }
  const idleRss = new Map(targets.map((t) => [t.name, t.proxies.map((p) => rssMb(p.child.pid!))]));
  for (const t of targets) load(t, 64, 2); // warm-up: JIT, pools, sessions
  const samples = new Map<string, Sample[]>();
  const peakRss = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of CONNECTIONS) {
      for (const t of targets) {
        const s = load(t, c, DURATION);
        const key = `${t.name}/${c}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        const rss = t.proxies.map((p) => rssMb(p.child.pid!));
        peakRss.set(t.name, rss.map((r, i) => Math.max(r, peakRss.get(t.name)?.[i] ?? 0)));
        process.stderr.write(
          `round ${round} ${key.padEnd(12)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  cpu/1k ${s.cpu.map((x) => x.toFixed(3)).join(' + ')}${s.errors ? `  ERRORS ${s.errors}` : ''}\n`,
        );
      }
    }
  }
  report(targets, samples, idleRss, peakRss);
}

function report(targets: Target[], samples: Map<string, Sample[]>, idleRss: Map<string, number[]>, peakRss: Map<string, number[]>): void {
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  console.log(`\nweft datapath benchmark — ${new Date().toISOString()} — node ${process.version}, ${cpus().length} vCPU (${cpuModel})`);
  console.log(`wrk from the same machine, ${DURATION}s per run, ${ROUNDS} interleaved rounds (medians), body 19 bytes, app: nginx return 200`);
  console.log('CPU = seconds of CPU per 1,000 requests, client-side proxy + server-side proxy; RSS = MB, idle / peak under load, per proxy');
  console.log('-h2 and -grpc paths: h2load, multiplexed (the conns column is concurrent streams over at most 4 connections), compared with their nginx pair; p50 is h2load\'s mean, p99 its maximum\n');
  const header = ['path', 'conns', 'req/s', 'x nginx', 'p50 ms', 'p99 ms', 'CPU/1k (c+s)', 'x nginx', 'errors', 'RSS idle', 'RSS peak'];
  const rows: string[][] = [header];
  for (const c of CONNECTIONS) {
    for (const t of targets) {
      const ref = samples.get(`${t.ref ?? 'nginx'}/${c}`);
      const refRps = ref ? median(ref.map((s) => s.rps)) : NaN;
      const refCpu = ref ? median(ref.map((s) => s.cpu.reduce((a, b) => a + b, 0))) : NaN;
      const ss = samples.get(`${t.name}/${c}`)!;
      const rps = median(ss.map((s) => s.rps));
      const cpu = ss[0]!.cpu.map((_, i) => median(ss.map((s) => s.cpu[i]!)));
      const cpuSum = median(ss.map((s) => s.cpu.reduce((a, b) => a + b, 0)));
      rows.push([
        t.name,
        String(c),
        rps.toFixed(0),
        (rps / refRps).toFixed(2),
        median(ss.map((s) => s.p50)).toFixed(2),
        median(ss.map((s) => s.p99)).toFixed(2),
        t.proxies.length ? `${cpu.map((x) => x.toFixed(3)).join(' + ')} = ${cpuSum.toFixed(3)}` : '-',
        t.proxies.length ? (cpuSum / refCpu).toFixed(2) : '-',
        String(ss.reduce((a, s) => a + s.errors, 0)),
        t.proxies.length ? idleRss.get(t.name)!.map((x) => x.toFixed(0)).join(' / ') : '-',
        t.proxies.length ? peakRss.get(t.name)!.map((x) => x.toFixed(0)).join(' / ') : '-',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
}

try {
  await main();
} finally {
  await stopAll();
}
