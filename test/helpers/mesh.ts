// Real processes for system tests: a control plane, demo apps and sidecars on 127.0.0.1, each
// started with the built CLI and ended by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/up/processes.js';
import { WEFT_BIN, runWeft } from './cli.js';

export const DEMO_APP = fileURLToPath(new URL('../../examples/demo/app.js', import.meta.url));

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export { freePort };

export function start(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, file = process.execPath): Proc {
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, output: () => out, exited };
}

export function startWeft(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  return start(name, [WEFT_BIN, ...args], env);
}

/** Stops processes this test started, by PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(procs: readonly Proc[], graceMs = 8_000): Promise<void> {
  const live = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  for (const p of live) p.child.kill('SIGTERM');
  const t = setTimeout(() => live.forEach((p) => p.child.exitCode === null && p.child.kill('SIGKILL')), graceMs);
  await Promise.all(live.map((p) => p.exited));
  clearTimeout(t);
}

/** Polls an HTTP URL until 200, failing early if `proc` exits; bounded by `timeoutMs`. */
export async function waitHttp(url: string, proc: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}) before ready:\n${proc.output()}`);
    const status = await httpStatus(url);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${proc.output()}`);
}

export function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** GET through an outbound proxy (absolute-form, as HTTP_PROXY clients send it). */
export function getViaProxy(proxyPort: number, target: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, path: `http://${target}${path}`, headers: { host: target }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

export interface Mesh {
  dataDir: string;
  cpPort: number;
  cpAdmin: number;
  controlPlane: Proc;
  procs: Proc[];
}

/** Starts a control plane on a fresh data directory and waits until it is ready. */
export async function startControlPlane(dataDir: string, extra: readonly string[] = []): Promise<Mesh> {
  const init = await runWeft(['ca', 'init', '--data-dir', dataDir]);
  if (init.code !== 0) throw new Error(init.stderr);
  const cpPort = await freePort();
  const cpAdmin = await freePort();
  const controlPlane = startWeft('control-plane', ['control-plane', '--data-dir', dataDir, '--listen', `127.0.0.1:${cpPort}`, '--admin', `127.0.0.1:${cpAdmin}`, ...extra]);
  await waitHttp(`http://127.0.0.1:${cpAdmin}/healthz/ready`, controlPlane);
  return { dataDir, cpPort, cpAdmin, controlPlane, procs: [controlPlane] };
}

export interface Workload {
  /** The join token the sidecar was started with. */
  token: string;
  app: Proc;
  sidecar: Proc;
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
}

/** A demo app behind its own sidecar, enrolled with a fresh join token for sa/<serviceAccount>. */
export async function startWorkload(
  mesh: Mesh,
  opts: { service: string; serviceAccount?: string; namespace?: string; version?: string; calls?: string[]; sidecarArgs?: string[]; waitReady?: boolean },
): Promise<Workload> {
  const namespace = opts.namespace ?? 'default';
  const token = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', namespace, '--service-account', opts.serviceAccount ?? opts.service]);
  if (token.code !== 0) throw new Error(token.stderr);
  const [appPort, inboundPort, outboundPort, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const app = start(`${opts.service}-app`, [DEMO_APP, '--name', opts.service, '--version', opts.version ?? 'v1', '--port', String(appPort), '--proxy', `127.0.0.1:${outboundPort}`, '--calls', (opts.calls ?? []).join(',')]);
  const sidecar = startWeft(
    `${opts.service}-sidecar`,
    [
      'sidecar', '--control-plane', `127.0.0.1:${mesh.cpPort}`, '--token-env', 'WEFT_JOIN_TOKEN',
      '--namespace', namespace, '--service', opts.service,
      // Service port 9080 unless the test declares the ports itself.
      ...(opts.sidecarArgs?.includes('--port') ? [] : ['--service-port', '9080']),
      '--labels', `app=${opts.service},version=${opts.version ?? 'v1'}`,
      '--inbound', `127.0.0.1:${inboundPort}`, '--app', `127.0.0.1:${appPort}`,
      '--outbound', `127.0.0.1:${outboundPort}`, '--admin', `127.0.0.1:${adminPort}`,
      ...(opts.sidecarArgs ?? []),
    ],
    { WEFT_JOIN_TOKEN: token.stdout.trim() },
  );
  mesh.procs.push(app, sidecar);
  if (opts.waitReady !== false) await waitHttp(`http://127.0.0.1:${adminPort}/healthz/ready`, sidecar);
  return { token: token.stdout.trim(), app, sidecar, appPort, inboundPort, outboundPort, adminPort };
}

/**
 * Sends requests through `proxyPort` to `target` with `concurrency` callers until `stop()` is
 * called or `maxRequests` is reached; counts successes and failures (with a sample of reasons).
 */
export function load(proxyPort: number, target: string, opts: { concurrency?: number; maxRequests?: number } = {}) {
  const stats = { ok: 0, failed: 0, reasons: [] as string[], byVersion: new Map<string, number>() };
  let running = true;
  const max = opts.maxRequests ?? 200_000;
  const worker = async () => {
    while (running && stats.ok + stats.failed < max) {
      const r = await getViaProxy(proxyPort, target);
      if (r.status === 200) {
        stats.ok++;
        const version = (JSON.parse(r.body) as { version?: string }).version ?? '?';
        stats.byVersion.set(version, (stats.byVersion.get(version) ?? 0) + 1);
      } else {
        stats.failed++;
        if (stats.reasons.length < 10) stats.reasons.push(`${r.status}: ${r.body.slice(0, 200)}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  return {
    stats,
    async stop() {
      running = false;
      await done;
      return stats;
    },
  };
}
