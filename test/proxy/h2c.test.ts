// HTTP/2 from the app: node:http2 clients speak h2c with prior knowledge to the calling sidecar's
// outbound port, next to HTTP/1.1 clients on the same port. Requests reach an HTTP/2 app over h2c
// end to end (trailers, large bodies, resets both ways) and an HTTP/1.1 app over HTTP/1.1.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, constants as h2c, createServer, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { SidecarProxy } from '../../src/proxy/index.js';
import { endpoint, httpRequest, idOf, MeshPki, sha256, startApp, StaticDirectory, within, type App } from './helpers.js';
import { curl } from './tools.js';

function h2load(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** An HTTP/2 app (node:http2, plaintext). /echo: body back, with trailers naming the request's; /bytes/N; /reset; /hang. */
async function startH2App(): Promise<{ server: Http2Server; port: number; closed: number[]; onHangOpened: (() => void)[]; onHangClosed: ((code: number) => void)[] }> {
  const closed: number[] = [];
  const onHangOpened: (() => void)[] = [];
  const onHangClosed: ((code: number) => void)[] = [];
  const server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    const path = String(headers[':path']);
    if (path === '/echo') {
      let trailers: IncomingHttpHeaders = {};
      stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'x-saw-authority': String(headers[':authority']) }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-app-trailer': 'done', 'x-request-trailer-was': String(trailers['x-checksum'] ?? 'none') }));
      stream.pipe(stream);
      return;
    }
    const m = /^\/bytes\/(\d+)$/.exec(path);
    if (m) {
      stream.respond({ ':status': 200 });
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let left = Number(m[1]);
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void stream.once('drain', pump);
        }
        stream.end();
      };
      pump();
      return;
    }
    if (path === '/reset') {
      // Waiting for trailers that never come: close() then sends RST_STREAM alone (Node's way to abort a response).
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.write('partial', () => stream.close(h2c.NGHTTP2_ENHANCE_YOUR_CALM));
      return;
    }
    if (path === '/hang') {
      for (const f of onHangOpened.splice(0)) f();
      stream.once('close', () => {
        closed.push(stream.rstCode);
        for (const f of onHangClosed.splice(0)) f(stream.rstCode);
      });
      return;
    }
    stream.respond({ ':status': 404 });
    stream.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, closed, onHangOpened, onHangClosed };
}

interface H2Reply {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
  rstCode: number;
}

/** One request on `session`; the whole reply, its trailers and how the stream closed. */
function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer, trailers?: Record<string, string>): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': body ? 'POST' : 'GET', ...headers }, trailers ? { waitForTrailers: true } : { endStream: body === undefined });
    if (trailers) req.on('wantTrailers', () => req.sendTrailers(trailers));
    let head: IncomingHttpHeaders = {};
    let tail: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (head = h));
    req.on('trailers', (t) => (tail = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ headers: head, body: Buffer.concat(chunks), trailers: tail, rstCode: req.rstCode ?? 0 }));
    req.on('frameError', reject);
    if (body) req.end(body);
    else if (trailers) req.end();
  });
}

describe('h2c with prior knowledge on the outbound port', () => {
  let h2app: Awaited<ReturnType<typeof startH2App>>;
  let h1app: App;
  let server: SidecarProxy;
  let legacy: SidecarProxy;
  let client: SidecarProxy;
  let outboundPort: number;
  let session: ClientHttp2Session;

  before(async () => {
    const mesh = await MeshPki.create();
    h2app = await startH2App();
    h1app = await startApp('details');
    const directory = new StaticDirectory();
    server = new SidecarProxy({ identity: await mesh.identity('h2app'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: h2app.port } });
    legacy = new SidecarProxy({ identity: await mesh.identity('details'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: h1app.port } });
    client = new SidecarProxy({ identity: await mesh.identity('sleep'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 } });
    directory.set('h2app.default', [endpoint((await server.start()).inboundPort, idOf('h2app'))], [idOf('h2app')]);
    directory.set('details.default', [endpoint((await legacy.start()).inboundPort, idOf('details'))], [idOf('details')]);
    outboundPort = (await client.start()).outboundPort!;
    session = connect(`http://127.0.0.1:${outboundPort}`);
    session.on('error', () => undefined);
  });
  after(async () => {
    session?.close();
    await client?.drain(1_000);
    await server?.drain(1_000);
    await legacy?.drain(1_000);
    h2app?.server.close();
    await h1app?.close();
  });

  test('reaches an HTTP/2 app over h2c end to end, request and response trailers included', async () => {
    const body = Buffer.alloc(8 << 20);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    const r = await within(60_000, 'echo', h2Request(session, { ':path': '/echo', ':authority': 'h2app.default:8080' }, body, { 'x-checksum': sha256(body) }));
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.headers['x-saw-authority'], 'h2app.default:8080');
    assert.equal(r.body.length, body.length);
    assert.equal(sha256(r.body), sha256(body));
    assert.equal(r.trailers['x-app-trailer'], 'done');
    assert.equal(r.trailers['x-request-trailer-was'], sha256(body), 'the request\'s trailers reached the app');
    assert.ok(server.stats().inbound_app_h2_requests_total! >= 1);
    assert.ok(client.stats().outbound_h2_requests_total! >= 1);
  });

  test('downloads 32 MB from the HTTP/2 app intact', async () => {
    const r = await within(60_000, 'bytes', h2Request(session, { ':path': `/bytes/${32 << 20}`, ':authority': 'h2app.default' }));
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.body.length, 32 << 20);
    assert.equal(r.body.indexOf(0x61), -1);
  });

  test('reaches an HTTP/1.1 app over HTTP/1.1 when it turns h2c down', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await within(20_000, 'legacy', h2Request(session, { ':path': `/hello/${i}?q=1`, ':authority': 'details.default:9080', 'x-mine': 'yes' }));
      assert.equal(r.headers[':status'], 200);
      const seen = JSON.parse(r.body.toString()) as { url: string; headers: Record<string, string> };
      assert.equal(seen.url, `/hello/${i}?q=1`);
      assert.equal(seen.headers.host, 'details.default:9080');
      assert.equal(seen.headers['x-mine'], 'yes');
      assert.equal(seen.headers['x-weft-protocol'], undefined);
    }
  });

  test('HTTP/1.1 and HTTP/2 clients share the listener, at once', async () => {
    const h1 = Array.from({ length: 20 }, (_, i) => httpRequest(outboundPort, { path: `/h1/${i}`, headers: { host: 'details.default:9080' } }));
    const h2 = Array.from({ length: 20 }, (_, i) => h2Request(session, { ':path': `/h2/${i}`, ':authority': 'details.default:9080' }));
    const [r1, r2] = await within(30_000, 'mixed', Promise.all([Promise.all(h1), Promise.all(h2)]));
    assert.deepEqual(r1.map((r) => r.status), Array(20).fill(200));
    assert.deepEqual(r2.map((r) => r.headers[':status']), Array(20).fill(200));
    assert.deepEqual(r1.map((r) => (JSON.parse(r.body.toString()) as { url: string }).url), Array.from({ length: 20 }, (_, i) => `/h1/${i}`));
  });

  test('fail/the app cancelling a request cancels it at the serving app', async () => {
    const openedAtApp = new Promise<void>((resolve) => h2app.onHangOpened.push(resolve));
    const closedAtApp = new Promise<number>((resolve) => h2app.onHangClosed.push(resolve));
    const req = session.request({ ':method': 'POST', ':path': '/hang', ':authority': 'h2app.default' });
    req.on('error', () => undefined);
    req.write('some of a body');
    await within(20_000, 'stream reached the app', openedAtApp);
    req.close(h2c.NGHTTP2_CANCEL);
    const code = await within(20_000, 'cancellation at the app', closedAtApp);
    assert.equal(code, h2c.NGHTTP2_CANCEL);
  });

  test('fail/an app that resets its response resets the client\'s stream, with its code', async () => {
    const r = await within(20_000, 'reset', h2Request(session, { ':path': '/reset', ':authority': 'h2app.default' }));
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.rstCode, h2c.NGHTTP2_ENHANCE_YOUR_CALM);
  });

  test('fail/an unknown service and a request without an authority are answered over HTTP/2 with the proxy\'s explanation', async () => {
    const unknown = await within(20_000, 'unknown', h2Request(session, { ':path': '/', ':authority': 'nope.default' }));
    assert.equal(unknown.headers[':status'], 503);
    assert.match(String(unknown.headers['x-weft-proxy-error']), /^NR WEFT_PROXY_UNKNOWN_SERVICE: unknown service "nope.default"/);
    const bad = await within(20_000, 'not a service', h2Request(session, { ':path': '/', ':authority': '127.0.0.1:80' }));
    assert.equal(bad.headers[':status'], 503);
    assert.match(String(bad.headers['x-weft-proxy-error']), /^NR /);
  });

  test('curl --http2-prior-knowledge reaches a service through the outbound port', async () => {
    const r = await curl(['-i', '--http2-prior-knowledge', '-H', 'host: details.default:9080', `http://127.0.0.1:${outboundPort}/from-curl`]);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /^HTTP\/2 200/);
    assert.match(text, /"url":"\/from-curl"/);
    assert.match(text, /"host":"details.default:9080"/);
  });

  test('h2load against the outbound port: every request of a multiplexed run succeeds', { skip: spawnSync('which', ['h2load']).status !== 0 && 'h2load is not installed' }, async () => {
    // Asynchronously: the sidecars run in this process.
    const run = await within(90_000, 'h2load', h2load(['-n', '400', '-c', '2', '-m', '20', '-H', ':authority: details.default:9080', `http://127.0.0.1:${outboundPort}/load`]));
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored/);
    assert.match(run.stdout, /status codes: 400 2xx/);
  });
});


describe('drain with HTTP/2 clients on the outbound port', () => {
  test('an in-flight HTTP/2 request finishes, the client gets GOAWAY, and the listener closes', async () => {
    const mesh = await MeshPki.create();
    const h2app = await startH2App();
    const directory = new StaticDirectory();
    const server = new SidecarProxy({ identity: await mesh.identity('h2app'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: h2app.port } });
    const client = new SidecarProxy({ identity: await mesh.identity('sleep'), directory, inbound: { host: '127.0.0.1', port: 0 }, app: { host: '127.0.0.1', port: 9 }, outbound: { host: '127.0.0.1', port: 0 } });
    directory.set('h2app.default', [endpoint((await server.start()).inboundPort, idOf('h2app'))], [idOf('h2app')]);
    const port = (await client.start()).outboundPort!;
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    try {
      const goaway = once(session, 'goaway');
      const req = session.request({ ':path': `/bytes/${8 << 20}`, ':authority': 'h2app.default' }, { endStream: true });
      req.on('error', () => undefined);
      await within(20_000, 'response begun', once(req, 'response'));
      // Drain while the body is still coming: the request is in flight.
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      const drained = client.drain(20_000);
      await within(20_000, 'GOAWAY', goaway);
      await within(30_000, 'download', once(req, 'end'));
      assert.equal(bytes, 8 << 20, 'the in-flight response finished');
      await within(30_000, 'drain', drained);
      assert.equal(client.stats().outbound_requests_active, 0);
    } finally {
      session.destroy();
      await client.drain(100);
      await server.drain(1_000);
      h2app.server.close();
    }
  });
});
