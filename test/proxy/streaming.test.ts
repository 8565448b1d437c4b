// Bodies stream through both sidecars with backpressure (issue 3 §2): 100 MB each way, and slow
// readers on either end, without the proxies buffering a body whole. The sidecars run in a child
// process so their own peak RSS (VmHWM) can be read.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MeshPki, startPairProcess, within, type PairProcess } from './helpers.js';

const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024);
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = (i * 31) & 0xff;
/**
 * Extra peak RSS the two sidecars may take over their idle size while moving 100 MB. Measured:
 * about 40 MB (V8's young generation and 64 KiB chunks awaiting collection); a sidecar holding
 * the body whole would add at least 100 MB.
 */
const RSS_GROWTH_LIMIT_MB = 75;
/**
 * Body for the slow-reader cases, and how far ahead of the reader its writer may get. Loopback
 * socket buffers autotune (Linux's tcp_rmem ceiling is 6 to 32 MB, times three sockets on the way),
 * so tens of MB of lead are the kernel's; a proxy that buffered the body would let the writer
 * finish nearly the whole body ahead.
 */
const SLOW_BODY = 96 * MB;
const MAX_LEAD_MB = 48;

/** Counts what the app wrote and read, so a test can see how far ahead of the reader a writer got. */
class CountingApp {
  server!: Server;
  port = 0;
  written = 0;
  received = 0;
  /** While set, the app reads the request body one chunk per macrotask turn: a slow reader. */
  slowRead = false;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const m = /^\/download\/(\d+)$/.exec(req.url ?? '');
    if (m) {
      req.resume();
      let left = Number(m[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          this.written += n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => {
      this.received += c.length;
      hash.update(c);
      if (this.slowRead) {
        req.pause();
        setTimeout(() => req.resume(), 1);
      }
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${this.received} ${hash.digest('hex')}`));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('streaming bodies through a sidecar pair', () => {
  const app = new CountingApp();
  let pair: PairProcess;
  let idleKb = 0;

  before(async () => {
    await app.start();
    pair = await startPairProcess(await MeshPki.create(), app.port);
    // Warm both sidecars up (session, TLS, JIT) so idle RSS is a fair baseline.
    await download(pair.outboundPort, MB, false);
    idleKb = (await pair.memory()).rssKb;
  });
  after(async () => {
    await pair?.stop();
    await app.close();
  });

  /** GET /download/N; `slow` reads one chunk per timer turn. Reports the writer's largest lead. */
  function download(port: number, bytes: number, slow: boolean): Promise<{ bytes: number; maxLeadMb: number; sha256: string }> {
    app.written = 0;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/download/${bytes}`, headers: { host: 'details.default' } }, (res) => {
        let got = 0;
        let maxLead = 0;
        const hash = createHash('sha256');
        res.on('data', (c: Buffer) => {
          got += c.length;
          hash.update(c);
          maxLead = Math.max(maxLead, app.written - got);
          if (slow) {
            res.pause();
            setTimeout(() => res.resume(), 1);
          }
        });
        res.on('end', () => resolve({ bytes: got, maxLeadMb: maxLead / MB, sha256: hash.digest('hex') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** PUT /upload of `bytes`, written with backpressure; reports how far the client got ahead of the app. */
  function upload(port: number, bytes: number, chunked: boolean): Promise<{ reply: string; maxLeadMb: number; sha256: string }> {
    app.received = 0;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { host: 'details.default', 'content-type': 'application/octet-stream' };
      if (!chunked) headers['content-length'] = String(bytes);
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/upload', headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ reply: body, maxLeadMb: maxLead / MB, sha256: hash.digest('hex') }));
      });
      req.on('error', reject);
      const hash = createHash('sha256');
      let sent = 0;
      let maxLead = 0;
      const pump = (): void => {
        while (sent < bytes) {
          const n = Math.min(bytes - sent, CHUNK.length);
          const part = n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n);
          sent += n;
          hash.update(part);
          maxLead = Math.max(maxLead, sent - app.received);
          if (!req.write(part)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
  }

  async function assertRssBounded(t: { diagnostic: (s: string) => void }, what: string): Promise<void> {
    const m = await pair.memory();
    const growthMb = (m.hwmKb - idleKb) / 1024;
    t.diagnostic(`${what}: idle RSS ${(idleKb / 1024).toFixed(1)} MB, peak ${(m.hwmKb / 1024).toFixed(1)} MB (+${growthMb.toFixed(1)} MB) for both sidecars`);
    assert.ok(growthMb < RSS_GROWTH_LIMIT_MB, `${what}: the sidecars' peak RSS grew by ${growthMb.toFixed(1)} MB`);
  }

  test('downloads 100 MB intact without the sidecars holding the body', async (t) => {
    const r = await within(120_000, '100 MB download', download(pair.outboundPort, 100 * MB, false));
    assert.equal(r.bytes, 100 * MB);
    await assertRssBounded(t, '100 MB download');
  });

  test('uploads 100 MB intact, with and without a content-length', async (t) => {
    for (const chunked of [false, true]) {
      const r = await within(120_000, '100 MB upload', upload(pair.outboundPort, 100 * MB, chunked));
      assert.equal(r.reply, `${100 * MB} ${r.sha256}`);
    }
    await assertRssBounded(t, '2 x 100 MB upload');
  });

  test('a slow reader on either end holds the writer back instead of filling the sidecars', async (t) => {
    const down = await within(120_000, 'slow download', download(pair.outboundPort, SLOW_BODY, true));
    assert.equal(down.bytes, SLOW_BODY);
    app.slowRead = true;
    const up = await within(120_000, 'slow upload', upload(pair.outboundPort, SLOW_BODY, true)).finally(() => (app.slowRead = false));
    assert.equal(up.reply, `${SLOW_BODY} ${up.sha256}`);
    t.diagnostic(`largest writer lead: download ${down.maxLeadMb.toFixed(1)} MB, upload ${up.maxLeadMb.toFixed(1)} MB of ${SLOW_BODY / MB} MB`);
    // Kernel socket buffers on four loopback sockets and the h2 windows account for the lead; a
    // proxy that buffered the body would let the writer finish far ahead.
    assert.ok(down.maxLeadMb < MAX_LEAD_MB, `the app got ${down.maxLeadMb.toFixed(1)} MB ahead of a slow client`);
    assert.ok(up.maxLeadMb < MAX_LEAD_MB, `the client got ${up.maxLeadMb.toFixed(1)} MB ahead of a slow app`);
    await assertRssBounded(t, 'slow readers');
  });
});
