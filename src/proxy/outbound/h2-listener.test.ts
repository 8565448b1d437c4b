import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { H2_PREFACE, sniffPreface } from './h2-listener.js';

/** Feeds `chunks` one per turn into a stream standing in for a socket; resolves with the decision and everything readable after it. */
function sniff(chunks: Buffer[], end: boolean): Promise<{ h2: boolean; ended: boolean; all: Buffer }> {
  const socket = new PassThrough();
  return new Promise((resolve) => {
    sniffPreface(socket as unknown as Socket, Buffer.alloc(0), (h2, bytes, ended) => {
      if (ended) return resolve({ h2, ended, all: bytes });
      socket.unshift(bytes);
      const rest: Buffer[] = [];
      socket.on('data', (c: Buffer) => rest.push(c));
      socket.once('end', () => resolve({ h2, ended, all: Buffer.concat(rest) }));
    });
    let i = 0;
    const next = (): void => {
      if (i < chunks.length) {
        socket.write(chunks[i++]);
        setImmediate(next);
      } else if (end) socket.end();
    };
    next();
  });
}

function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) out.push(data.subarray(from, p));
    from = Math.max(from, p);
  }
  if (from < data.length) out.push(data.subarray(from));
  return out;
}

test('the HTTP/2 preface, however it is split, is HTTP/2, and every byte is kept', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(), { maxLength: 6 }), async (tail, cuts) => {
      const data = Buffer.concat([H2_PREFACE, Buffer.from(tail)]);
      const r = await sniff(split(data, cuts), true);
      assert.equal(r.h2, true);
      assert.deepEqual(r.all, data);
    }),
    { numRuns: 60 },
  );
});

test('fail/anything that is not the preface is HTTP/1.1 as soon as it diverges, and every byte is kept', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.array(fc.nat(), { maxLength: 6 }), async (raw, cuts) => {
      const data = Buffer.from(raw);
      fc.pre(!data.subarray(0, Math.min(data.length, H2_PREFACE.length)).equals(H2_PREFACE.subarray(0, Math.min(data.length, H2_PREFACE.length))));
      const r = await sniff(split(data, cuts), true);
      assert.equal(r.h2, false);
      assert.equal(r.ended, false);
      assert.deepEqual(r.all, data);
    }),
    { numRuns: 60 },
  );
});

test('fail/a connection that ends inside the preface is neither, and says it ended', async () => {
  const r = await sniff([H2_PREFACE.subarray(0, 10)], true);
  assert.equal(r.ended, true);
  assert.equal(r.h2, false);
  assert.deepEqual(r.all, H2_PREFACE.subarray(0, 10));
  const silent = await sniff([], true);
  assert.equal(silent.ended, true);
  assert.equal(silent.all.length, 0);
});

test('an HTTP/1.1 request head is HTTP/1.1 from its first byte', async () => {
  const head = Buffer.from('GET / HTTP/1.1\r\nhost: a.b\r\n\r\n');
  const r = await sniff([head], true);
  assert.equal(r.h2, false);
  assert.deepEqual(r.all, head);
  // "PRI" is also an HTTP/1.1 method name; only the whole preface is HTTP/2.
  const pri = Buffer.from('PRI * HTTP/1.1\r\n\r\n');
  assert.equal((await sniff([pri], true)).h2, false);
});
