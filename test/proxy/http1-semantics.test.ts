// HTTP/1.1 end to end through a real sidecar pair (issue 9): trailers both ways, Expect:
// 100-continue decided by the serving app, HEAD / 204 / 304 framing, and pipelined requests on
// one connection answered in order. curl where it can show the behaviour, raw sockets otherwise.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { within } from './helpers.js';
import { closeServer, HOST, listen, parseResponses, RawClient, startHttp1Pair, type Http1Pair } from './http1-rig.js';
import { curl } from './tools.js';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  trailers: Record<string, string>;
  bodyBytes: number;
}

/** The app: answers by path; records every request it read whole. */
function app(seen: Seen[]): ReturnType<typeof createServer> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.searchParams.get('id') ?? '';
    if (url.pathname === '/head') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1234', 'x-id': id });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
      return;
    }
    if (url.pathname === '/204' || url.pathname === '/304') {
      req.resume();
      res.writeHead(Number(url.pathname.slice(1)), { 'x-id': id, etag: '"e1"' });
      res.end();
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, trailers: { ...req.trailers } as Record<string, string>, bodyBytes: bytes });
      const answer = (): void => {
        const body = JSON.stringify({ id, bytes, sha: hash.digest('hex'), trailers: req.trailers });
        if (url.pathname === '/trailers') {
          res.writeHead(200, { 'content-type': 'application/json', trailer: 'x-checksum, x-count' });
          res.write(body);
          res.addTrailers({ 'x-checksum': createHash('sha256').update(body).digest('hex'), 'x-count': String(bytes), 'set-cookie': 'no=1', 'content-type': 'text/evil' });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-id': id });
        res.end(body);
      };
      const delay = Number(url.searchParams.get('delay') ?? 0);
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  };
  const server = createServer({ keepAliveTimeout: 30_000 }, handle);
  // The app decides on the expectation: /refuse answers 413 before any body byte.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith('/refuse')) {
      seen.push({ url: req.url ?? '', headers: req.headers, trailers: {}, bodyBytes: -1 });
      res.writeHead(413, { 'content-type': 'text/plain', 'content-length': '9' }).end('too big!\n');
      return;
    }
    res.writeContinue();
    handle(req, res);
  });
  return server;
}

describe('HTTP/1.1 semantics through a sidecar pair', () => {
  const seen: Seen[] = [];
  const server = app(seen);
  let pair: Http1Pair;

  before(async () => {
    pair = await startHttp1Pair(await listen(server));
  });
  after(async () => {
    await pair.close();
    await closeServer(server);
  });

  test('response trailers reach the calling app; forbidden ones are dropped', async () => {
    const r = await within(15_000, 'trailers request', new Promise<{ body: string; trailers: NodeJS.Dict<string>; headers: IncomingMessage['headers'] }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: pair.outboundPort, path: '/trailers?id=t1', headers: { host: HOST, te: 'trailers' }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ body, trailers: res.trailers, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    }));
    assert.equal(r.headers.trailer, 'x-checksum, x-count');
    assert.equal(r.trailers['x-checksum'], createHash('sha256').update(r.body).digest('hex'));
    assert.equal(r.trailers['x-count'], '0');
    assert.equal(r.trailers['set-cookie'], undefined, 'set-cookie may not come as a trailer');
    assert.equal(r.trailers['content-type'], undefined, 'content metadata may not come as a trailer');
  });

  test('curl sees the response trailers on the wire', async () => {
    const out = await curl(['--raw', '-i', '-H', `host: ${HOST}`, `http://127.0.0.1:${pair.outboundPort}/trailers?id=c1`]);
    assert.equal(out.code, 0, out.stderr);
    const text = out.stdout.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /transfer-encoding: chunked/i);
    assert.match(text, /\r\n0\r\nx-checksum: [0-9a-f]{64}\r\nx-count: 0\r\n\r\n$/);
  });

  test('request trailers of a chunked upload reach the serving app; forbidden and owned ones are dropped', async () => {
    const before = seen.length;
    const r = await within(15_000, 'upload with trailers', new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: pair.outboundPort, method: 'POST', path: '/upload?id=u1', headers: { host: HOST, 'transfer-encoding': 'chunked', trailer: 'x-sum' }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write('hello ');
      req.write('world');
      req.addTrailers([
        ['x-sum', 'abc'],
        ['host', 'evil.example'],
        ['x-forwarded-client-cert', 'By=spiffe://evil'],
        ['authorization', 'Bearer forged'],
      ]);
      req.end();
    }));
    const answer = JSON.parse(r) as { bytes: number; trailers: Record<string, string> };
    assert.equal(answer.bytes, 11);
    assert.deepEqual(answer.trailers, { 'x-sum': 'abc' });
    assert.equal(seen.length, before + 1);
    assert.deepEqual(seen.at(-1)!.trailers, { 'x-sum': 'abc' });
  });

  test('a chunked upload without trailers arrives whole, and so does one with a length', async () => {
    for (const framing of ['chunked', 'length'] as const) {
      const body = Buffer.alloc(300_000, framing === 'chunked' ? 0x63 : 0x6c);
      const got = await within(15_000, `${framing} upload`, new Promise<string>((resolve, reject) => {
        const headers: Record<string, string> = { host: HOST };
        if (framing === 'length') headers['content-length'] = String(body.length);
        else headers['transfer-encoding'] = 'chunked';
        const req = request({ host: '127.0.0.1', port: pair.outboundPort, method: 'PUT', path: `/upload?id=${framing}`, headers, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(body);
      }));
      const answer = JSON.parse(got) as { bytes: number; sha: string; trailers: object };
      assert.equal(answer.bytes, body.length);
      assert.equal(answer.sha, createHash('sha256').update(body).digest('hex'));
      assert.deepEqual(answer.trailers, {});
    }
  });

  test('Expect: 100-continue: the serving app refuses before the body, and the body is never sent', async () => {
    const before = seen.length;
    const out = await curl(['-v', '-H', `host: ${HOST}`, '-H', 'Expect: 100-continue', '--expect100-timeout', '30', '--data-binary', 'x'.repeat(5000), `http://127.0.0.1:${pair.outboundPort}/refuse?id=e1`]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.toString(), 'too big!\n');
    assert.match(out.stderr, /< HTTP\/1\.1 413/);
    assert.doesNotMatch(out.stderr, /100 Continue/);
    assert.equal(seen.length, before + 1);
    assert.equal(seen.at(-1)!.bodyBytes, -1, 'the app answered from the head alone');
    assert.equal(seen.at(-1)!.headers.expect, '100-continue');
  });

  test('Expect: 100-continue: the serving app says 100, and the body flows', async () => {
    const out = await curl(['-v', '-H', `host: ${HOST}`, '-H', 'Expect: 100-continue', '--expect100-timeout', '30', '--data-binary', 'y'.repeat(5000), `http://127.0.0.1:${pair.outboundPort}/accept?id=e2`]);
    assert.equal(out.code, 0, out.stderr);
    // curl waits up to 30 s for the 100: it only sends the body once the app's 100 came through.
    assert.match(out.stderr, /< HTTP\/1\.1 100 Continue/);
    const answer = JSON.parse(out.stdout.toString()) as { bytes: number; sha: string };
    assert.equal(answer.bytes, 5000);
    assert.equal(answer.sha, createHash('sha256').update('y'.repeat(5000)).digest('hex'));
  });

  test('Expect: 100-continue over a raw socket: nothing but the 100 comes before the body is sent', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(`POST /accept?id=e3 HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n`);
    const first = await c.until((b) => b.includes('\r\n\r\n'), 'the interim answer');
    assert.match(first.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    c.write('abcd');
    const all = await c.until((b) => parseResponses(b, []).responses.length === 1, 'the final answer');
    const { responses } = parseResponses(all, []);
    assert.equal(responses[0]!.status, 200);
    assert.equal((JSON.parse(responses[0]!.body.toString()) as { bytes: number }).bytes, 4);
    c.destroy();
  });

  test('HEAD keeps its content-length and gets no body; 204 and 304 carry none; the connection stays in step', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(
      `HEAD /head?id=h1 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n` +
        `GET /204?id=n1 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n` +
        `GET /304?id=n2 HTTP/1.1\r\nhost: ${HOST}\r\nif-none-match: "e1"\r\n\r\n` +
        `GET /head?id=g1 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
    );
    const heads = [true, false, false, false];
    const buf = await c.until((b) => parseResponses(b, heads).responses.length === 4, 'four answers');
    const { responses, rest } = parseResponses(buf, heads);
    assert.deepEqual(responses.map((r) => [r.status, r.headers['x-id']?.[0]]), [[200, 'h1'], [204, 'n1'], [304, 'n2'], [200, 'g1']]);
    assert.equal(responses[0]!.headers['content-length']?.[0], '1234');
    assert.equal(responses[0]!.body.length, 0);
    assert.equal(responses[1]!.headers['content-length'], undefined);
    assert.equal(responses[1]!.headers['transfer-encoding'], undefined);
    assert.equal(responses[3]!.body.length, 1234);
    assert.equal(rest.length, 0, 'no stray bytes after the answers');
    c.destroy();
  });

  test('three pipelined requests are answered in order, whatever order the app finishes them in', async () => {
    const c = new RawClient(pair.outboundPort);
    c.write(
      `GET /slow?id=p1&delay=400 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n` +
        `POST /fast?id=p2 HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 3\r\n\r\nabc` +
        `GET /mid?id=p3&delay=150 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
    );
    const buf = await c.until((b) => parseResponses(b, []).responses.length === 3, 'three answers');
    const { responses } = parseResponses(buf, []);
    assert.deepEqual(responses.map((r) => (JSON.parse(r.body.toString()) as { id: string }).id), ['p1', 'p2', 'p3']);
    assert.equal((JSON.parse(responses[1]!.body.toString()) as { bytes: number }).bytes, 3);
    c.destroy();
  });
});
