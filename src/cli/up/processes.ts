import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A child process `weft up` started, with its output going to a log file. */
export interface Child {
  name: string;
  process: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/**
 * A loopback port that is free now, for a child process to bind a moment later. The port is drawn
 * below the kernel's ephemeral range: a port the kernel hands out for bind(0) is also what it hands
 * out to outgoing connections, so in the gap before the child binds, any connect() on the machine
 * could take it. Ports are not handed out twice by one process, and processes draw from slices of
 * the range chosen by their pid.
 */
export async function freePort(): Promise<number> {
  const window = portWindow();
  if (!window) return kernelPort();
  const [low, high] = window;
  // Each process draws from its own slice first: two processes handing out ports at once (test
  // files run side by side) then cannot give the same port to children that bind it later.
  const size = Math.floor((high - low + 1) / SLICES);
  const sliceLow = low + (process.pid % SLICES) * size;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = attempt < 150 ? sliceLow + randomInt(size) : low + randomInt(high - low + 1);
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  return kernelPort();
}

const handedOut = new Set<number>();
const SLICES = 32;

/** Ports outside the ephemeral range: below it (Linux's default starts at 32768), else above it. */
function portWindow(): [number, number] | undefined {
  let [low, high] = [32_768, 60_999];
  try {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (range.length === 2 && range.every((n) => Number.isInteger(n) && n > 0)) [low, high] = range as [number, number];
  } catch {
    // Not Linux: assume the default range.
  }
  if (low > 12_000) return [10_000, low - 1];
  if (high < 63_000) return [high + 1, 65_535];
  return undefined;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `file args` with stdout and stderr appended to `<logDir>/<name>.log`. */
export function startChild(name: string, file: string, args: readonly string[], logDir: string, env: NodeJS.ProcessEnv = {}): Child {
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, `${name}.log`);
  const out: WriteStream = createWriteStream(log, { flags: 'a' });
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, process: child, log, exited };
}

/** SIGTERM to every child still running (by PID), then SIGKILL to any left after `graceMs`. */
export async function stopChildren(children: readonly Child[], graceMs = 5_000): Promise<void> {
  const running = children.filter((c) => c.process.exitCode === null && c.process.signalCode === null);
  for (const c of running) c.process.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const c of running) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  }, graceMs);
  await Promise.all(running.map((c) => c.exited));
  clearTimeout(timer);
}

/** Polls `url` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitReady(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (performance.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before it was ready (see ${child.log})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${child.name} was not ready within ${timeoutMs} ms (see ${child.log})`);
}
