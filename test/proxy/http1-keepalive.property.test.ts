// Property: random sequences of HTTP/1.1 requests with random framing (content-length, chunked with
// or without trailers, empty, HEAD, 204 / 304 answers, an optional upgrade last) written at once on
// one keep-alive connection through the sidecar pair never desynchronise it: the i-th answer is the
// answer to the i-th request (each carries its id back), bodies and trailers arrive whole, and the
// upgrade at the end switches. Bounded: 30 runs of at most 6 requests.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { closeServer, HOST, listen, parseResponses, RawClient, startHttp1Pair, type Http1Pair } from './http1-rig.js';

type Framing = 'none' | 'length' | 'chunked' | 'chunked-trailers';
type Answer = 'json' | 'chunked-trailers' | '204' | '304';

interface Step {
  method: 'GET' | 'POST' | 'HEAD';
  framing: Framing;
  body: string;
  answer: Answer;
}

const step: fc.Arbitrary<Step> = fc
  .record({
    method: fc.constantFrom('GET' as const, 'POST' as const, 'HEAD' as const),
    framing: fc.constantFrom<Framing>('none', 'length', 'chunked', 'chunked-trailers'),
    body: fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')),
    answer: fc.constantFrom<Answer>('json', 'chunked-trailers', '204', '304'),
  })
  .map((s) => (s.method === 'HEAD' ? { ...s, framing: 'none' as const, body: '' } : s.framing === 'none' ? { ...s, body: '' } : s));

function appHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = url.searchParams.get('id') ?? '';
  const answer = url.searchParams.get('answer') as Answer;
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  req.on('end', () => {
    const sum = hash.digest('hex');
    if (answer === '204' || answer === '304') {
      res.writeHead(Number(answer), { 'x-id': id });
      res.end();
      return;
    }
    const body = JSON.stringify({ id, bytes, sum, trailer: req.trailers['x-req-sum'] ?? null });
    if (answer === 'chunked-trailers' && req.method !== 'HEAD') {
      res.writeHead(200, { 'x-id': id, trailer: 'x-id-again' });
      res.write(body);
      res.addTrailers({ 'x-id-again': id });
      res.end();
      return;
    }
    res.writeHead(200, { 'x-id': id, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

function requestText(s: Step, id: string): string {
  const target = `/r?id=${id}&answer=${s.answer}`;
  let head = `${s.method} ${target} HTTP/1.1\r\nhost: ${HOST}\r\n`;
  if (s.framing === 'none') return `${head}\r\n`;
  if (s.framing === 'length') return `${head}content-length: ${Buffer.byteLength(s.body)}\r\n\r\n${s.body}`;
  head += 'transfer-encoding: chunked\r\n';
  if (s.framing === 'chunked-trailers') head += 'trailer: x-req-sum\r\n';
  let out = `${head}\r\n`;
  for (let i = 0; i < s.body.length; i += 97) {
    const part = s.body.slice(i, i + 97);
    out += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
  }
  out += '0\r\n';
  if (s.framing === 'chunked-trailers') out += `x-req-sum: ${createHash('sha256').update(s.body).digest('hex')}\r\n`;
  return `${out}\r\n`;
}

describe('one keep-alive connection through the sidecar pair never desynchronises', () => {
  const server = createServer({ keepAliveTimeout: 30_000 }, appHandler);
  const switched = new Set<Socket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    switched.add(socket);
    socket.once('close', () => switched.delete(socket));
    socket.on('error', () => undefined);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${req.headers.upgrade}\r\nx-id: ${new URL(req.url ?? '/', 'http://x').searchParams.get('id')}\r\n\r\n`);
    socket.on('data', (c: Buffer) => socket.write(c));
  });
  let pair: Http1Pair;

  before(async () => {
    pair = await startHttp1Pair(await listen(server));
  });
  after(async () => {
    for (const s of switched) s.destroy();
    await pair.close();
    await closeServer(server);
  });

  test('random sequences of framings answer in order, with their own ids and bodies', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.boolean(), async (steps, upgradeLast) => {
        run++;
        const ids = steps.map((_, i) => `r${run}-${i}`);
        const c = new RawClient(pair.outboundPort);
        try {
          let text = steps.map((s, i) => requestText(s, ids[i]!)).join('');
          const upId = `r${run}-up`;
          if (upgradeLast) text += `GET /up?id=${upId} HTTP/1.1\r\nhost: ${HOST}\r\nconnection: upgrade\r\nupgrade: echo/1\r\n\r\n`;
          c.write(text);
          const heads = steps.map((s) => s.method === 'HEAD');
          const want = steps.length + (upgradeLast ? 1 : 0);
          const count = (b: Buffer): number => {
            const { responses, rest } = parseResponses(b, heads);
            // The 101 has no body: it counts once its head is in.
            return responses.length + (upgradeLast && responses.length === steps.length && rest.includes('\r\n\r\n') ? 1 : 0);
          };
          const buf = await c.until((b) => count(b) >= want, `${want} answers`, 20_000);
          const { responses, rest } = parseResponses(buf, heads);
          assert.equal(responses.length, steps.length, `answers: ${JSON.stringify(buf.toString('latin1').slice(0, 500))}`);
          steps.forEach((s, i) => {
            const r = responses[i]!;
            const id = ids[i]!;
            const status = s.answer === '204' ? 204 : s.answer === '304' ? 304 : 200;
            assert.equal(r.status, status);
            assert.equal(r.headers['x-id']?.[0], id, `answer ${i} is another request's`);
            if (status !== 200 || s.method === 'HEAD') return assert.equal(r.body.length, 0);
            const got = JSON.parse(r.body.toString()) as { id: string; bytes: number; sum: string; trailer: string | null };
            assert.equal(got.id, id);
            assert.equal(got.bytes, Buffer.byteLength(s.body));
            assert.equal(got.sum, createHash('sha256').update(s.body).digest('hex'));
            assert.equal(got.trailer, s.framing === 'chunked-trailers' ? got.sum : null);
            if (s.answer === 'chunked-trailers') assert.deepEqual(r.trailers['x-id-again'], [id]);
          });
          if (upgradeLast) {
            const head = rest.toString('latin1');
            assert.match(head, /^HTTP\/1\.1 101 /);
            assert.match(head, new RegExp(`\\r\\nx-id: ${upId}\\r\\n`));
            const mark = c.buf.length;
            c.write('after-switch');
            await c.until((b) => b.subarray(mark).toString() === 'after-switch', 'the echo after the switch');
          }
        } finally {
          c.destroy();
        }
      }),
      { numRuns: 30, endOnFailure: true },
    );
  });
});
