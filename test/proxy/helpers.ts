// Shared pieces of the data-path system tests: a test PKI for one trust domain, a tiny app,
// a static service directory and an HTTP client. Everything listens on 127.0.0.1, port 0.
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { TestPki, pemOf, type TestCert } from '../helpers/pki.js';
import type { Endpoint, ServiceDirectory, ServiceEntry, SidecarIdentity } from '../../src/proxy/index.js';

export const TD = 'cluster.local';
export const idOf = (sa: string, ns = 'default'): string => `spiffe://${TD}/ns/${ns}/sa/${sa}`;

/** A root and an intermediate for the trust domain, and SVIDs issued under them. */
export class MeshPki {
  readonly pki = new TestPki();
  root!: TestCert;
  intermediate!: TestCert;

  static async create(): Promise<MeshPki> {
    const m = new MeshPki();
    m.root = await m.pki.root(TD);
    m.intermediate = await m.pki.intermediate(m.root);
    return m;
  }

  /** A sidecar identity for service account `sa`: leaf + intermediate, our root as bundle. */
  async identity(sa: string, ns = 'default'): Promise<SidecarIdentity & { leaf: TestCert }> {
    const leaf = await this.pki.leaf(this.intermediate, idOf(sa, ns));
    return { spiffeId: idOf(sa, ns), trustDomain: TD, keyPem: leaf.keyPem, certChainPem: pemOf(leaf, this.intermediate), bundlePem: this.root.pem, leaf };
  }
}

/** A directory the test edits directly. */
export class StaticDirectory implements ServiceDirectory {
  readonly entries = new Map<string, ServiceEntry>();

  set(name: string, endpoints: Endpoint[], identities: string[]): void {
    this.entries.set(name, { endpoints, identities: new Set(identities) });
  }

  lookup(service: string, namespace: string): ServiceEntry | undefined {
    return this.entries.get(`${service}.${namespace}`);
  }
}

export function endpoint(port: number, spiffeId: string): Endpoint {
  return { address: '127.0.0.1', port, spiffeId, labels: {} };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  bodySha256: string;
}

/**
 * The backend app. Routes: /bytes/N streams N bytes (64 KiB chunks, with backpressure); /echo
 * pipes the request body back; /hop answers with hop-by-hop headers; anything else answers JSON
 * of what it saw. Every request is recorded in `seen` once its body is read.
 */
export interface App {
  server: Server;
  port: number;
  seen: SeenRequest[];
  /** Emits 'held' when a /hold request arrives and 'request' for every request recorded. */
  events: EventEmitter;
  /** Answers every request waiting on /hold. */
  release: () => void;
  held: () => number;
  close: () => Promise<void>;
}

export async function startApp(name = 'app'): Promise<App> {
  const seen: SeenRequest[] = [];
  const events = new EventEmitter();
  let holds: (() => void)[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/hold')) {
      req.resume();
      holds.push(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`released ${url}\n`));
      events.emit('held', holds.length);
      return;
    }
    if (url === '/status/204') {
      req.resume();
      res.writeHead(204).end();
      return;
    }
    if (url === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url, headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: bytes, bodySha256: hash.digest('hex') });
      events.emit('request', seen.at(-1));
      const m = /^\/bytes\/(\d+)$/.exec(url);
      if (m) {
        streamBytes(res, Number(m[1]));
        return;
      }
      if (url === '/hop') {
        res.writeHead(200, [
          'connection', 'x-hop-resp, keep-alive', 'x-hop-resp', 'secret', 'keep-alive', 'timeout=5', 'x-end-resp', 'kept',
          'proxy-authenticate', 'Basic realm="x"', 'content-type', 'text/plain',
        ]);
        res.end('hop\n');
        return;
      }
      const body = JSON.stringify({ app: name, method: req.method, url, headers: req.headers, bodyBytes: bytes, bodySha256: seen.at(-1)!.bodySha256 });
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    seen,
    events,
    release: () => {
      const h = holds;
      holds = [];
      for (const f of h) f();
    },
    held: () => holds.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function streamBytes(res: import('node:http').ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 request to 127.0.0.1:port (the outbound proxy), the whole reply in memory. */
export function httpRequest(
  port: number,
  opts: { path: string; method?: string; headers?: Record<string, string | string[]> | string[]; body?: Buffer | string; agent?: Agent | false },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: opts.agent ?? false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Rejects after `ms` unless `p` settles first; for bounding a whole test step. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records a diagnostics channel's messages; `waitFor(n)` resolves once n have arrived (bounded). */
export function record<T>(ch: import('node:diagnostics_channel').Channel): { messages: T[]; waitFor: (n: number, ms?: number) => Promise<void>; stop: () => void } {
  const messages: T[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const onMessage = (m: unknown): void => {
    messages.push(m as T);
    if (waiter !== undefined && messages.length >= waiter.n) waiter.resolve();
  };
  ch.subscribe(onMessage);
  return {
    messages,
    waitFor: (n, ms = 10_000) =>
      messages.length >= n
        ? Promise.resolve()
        : within(ms, `${n} messages on ${String(ch.name)} (have ${messages.length})`, new Promise<void>((resolve) => (waiter = { n, resolve }))),
    stop: () => ch.unsubscribe(onMessage),
  };
}

/** Log lines a test can inspect. */
export class MemoryLogger {
  readonly lines: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  log(level: string, event: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level, event, fields });
  }
  find(event: string): { level: string; event: string; fields: Record<string, unknown> }[] {
    return this.lines.filter((l) => l.event === event);
  }
}

export interface Pair {
  mesh: MeshPki;
  app: App;
  directory: StaticDirectory;
  /** The server-side sidecar (service details.default), in front of `app`. */
  server: import('../../src/proxy/index.js').SidecarProxy;
  serverPort: number;
  serverIdentity: SidecarIdentity & { leaf: TestCert };
  serverLog: MemoryLogger;
  /** The client-side sidecar, whose outbound port the test calls. */
  client: import('../../src/proxy/index.js').SidecarProxy;
  outboundPort: number;
  clientIdentity: SidecarIdentity & { leaf: TestCert };
  clientLog: MemoryLogger;
  close: () => Promise<void>;
}

/** app <- server sidecar (details) <- client sidecar (productpage) <- the test, all on 127.0.0.1. */
export async function startPair(): Promise<Pair> {
  const { SidecarProxy } = await import('../../src/proxy/index.js');
  const mesh = await MeshPki.create();
  const app = await startApp('details');
  const directory = new StaticDirectory();
  const serverIdentity = await mesh.identity('details');
  const clientIdentity = await mesh.identity('productpage');
  const serverLog = new MemoryLogger();
  const clientLog = new MemoryLogger();
  const server = new SidecarProxy({ identity: serverIdentity, directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: app.port }, logger: serverLog });
  const serverPort = (await server.start()).inboundPort;
  const client = new SidecarProxy({
    identity: clientIdentity,
    directory,
    inbound: { host: '127.0.0.1', port: 0 },
    app: { host: '127.0.0.1', port: 9 },
    outbound: { host: '127.0.0.1', port: 0 },
    logger: clientLog,
  });
  const outboundPort = (await client.start()).outboundPort!;
  directory.set('details.default', [endpoint(serverPort, idOf('details'))], [idOf('details')]);
  return {
    mesh,
    app,
    directory,
    server,
    serverPort,
    serverIdentity,
    serverLog,
    client,
    outboundPort,
    clientIdentity,
    clientLog,
    close: async () => {
      await client.drain(2_000);
      await server.drain(2_000);
      await app.close();
    },
  };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Resolves when `app` holds `n` requests on /hold (event-driven, bounded). */
export function heldRequests(app: App, n: number, ms = 10_000): Promise<void> {
  if (app.held() >= n) return Promise.resolve();
  return within(
    ms,
    `${n} held requests (have ${app.held()})`,
    new Promise<void>((resolve) => {
      const on = (count: number): void => {
        if (count >= n) {
          app.events.off('held', on);
          resolve();
        }
      };
      app.events.on('held', on);
    }),
  );
}

export interface LoadResult {
  ok: number;
  failed: { status: number; error?: string; body?: string }[];
}

/**
 * Closed-loop load: `workers` keep-alive clients each sending `perWorker` requests back to back
 * through the outbound proxy. `onProgress(done)` runs after every completed request, so a test
 * can act at a given point of the load without timers.
 */
export async function runLoad(
  port: number,
  opts: { workers: number; perWorker: number; host: string; path?: (i: number) => string; onProgress?: (done: number) => void; expectBody?: (path: string, body: Buffer) => boolean },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.workers });
  const result: LoadResult = { ok: 0, failed: [] };
  let done = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; i < opts.perWorker; i++) {
      const path = opts.path ? opts.path(w * opts.perWorker + i) : `/load/${w}/${i}`;
      try {
        const r = await httpRequest(port, { path, headers: { host: opts.host }, agent });
        if (r.status === 200 && (opts.expectBody === undefined || opts.expectBody(path, r.body))) result.ok++;
        else result.failed.push({ status: r.status, body: r.body.subarray(0, 200).toString() });
      } catch (err) {
        result.failed.push({ status: 0, error: (err as Error).message });
      }
      opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));
  agent.destroy();
  return result;
}

export interface PairProcess {
  child: import('node:child_process').ChildProcess;
  outboundPort: number;
  memory: () => Promise<{ rssKb: number; hwmKb: number; stats: Record<string, number>[] }>;
  stop: () => Promise<void>;
}

/** Both sidecars in a child process (see fixtures/pair-process.ts), in front of `appPort`. */
export async function startPairProcess(mesh: MeshPki, appPort: number): Promise<PairProcess> {
  const { fork } = await import('node:child_process');
  const child = fork(new URL('./fixtures/pair-process.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(type: string): Promise<T> =>
    within(
      30_000,
      `child message ${type}`,
      new Promise<T>((resolve, reject) => {
        const onMessage = (m: { type: string }): void => {
          if (m.type !== type) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve(m as T);
        };
        const onExit = (code: number | null): void => reject(new Error(`pair process exited (${code}) before ${type}`));
        child.on('message', onMessage);
        child.once('exit', onExit);
      }),
    );
  const strip = (id: SidecarIdentity): SidecarIdentity => ({ spiffeId: id.spiffeId, trustDomain: id.trustDomain, keyPem: id.keyPem, certChainPem: id.certChainPem, bundlePem: id.bundlePem });
  const started = next<{ outboundPort: number }>('started');
  child.send({ type: 'start', client: strip(await mesh.identity('productpage')), server: strip(await mesh.identity('details')), appPort });
  const { outboundPort } = await started;
  return {
    child,
    outboundPort,
    memory: () => {
      const m = next<{ rssKb: number; hwmKb: number; stats: Record<string, number>[] }>('memory');
      child.send({ type: 'memory' });
      return m;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
