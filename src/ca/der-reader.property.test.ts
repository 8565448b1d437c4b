// The lean DER reader of src/lib/der.ts reads CSRs straight off the network for the CA, so on any
// bytes at all it must either walk a bounded tree or throw WeftError WEFT_DER_MALFORMED: never
// another error, never a loop. (It lives with the CA tests because the CA is its hostile-input user.)
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { children, decodeOid, readTlv, TAG, type Tlv } from '../lib/der.js';
import { WeftError } from '../lib/errors.js';
import { makeCsr } from './testing/fixtures.js';

let csrDer: Buffer;
before(async () => {
  csrDer = (await makeCsr({ keyType: 'RSA 2048' })).der;
});

/**
 * Walks every constructed TLV under the one at offset 0, decoding OIDs on the way, and returns how
 * many TLVs it visited. Each TLV takes at least two bytes of its parent, so a terminating walk
 * visits at most length/2 of them; the guard turns a loop into a failure instead of a hang.
 */
function walk(buf: Uint8Array): number {
  let visited = 0;
  const budget = buf.length / 2 + 1;
  const visit = (t: Tlv, depth: number): void => {
    if (++visited > budget || depth > buf.length) throw new Error(`walked ${visited} TLVs in ${buf.length} bytes: the reader loops`);
    assert.ok(t.offset < t.start && t.start <= t.end && t.end <= buf.length, `TLV out of bounds: ${JSON.stringify(t)}`);
    if (t.tag === TAG.OID) decodeOid(buf, t);
    if (t.tag & 0x20) for (const c of children(buf, t)) visit(c, depth + 1);
  };
  visit(readTlv(buf, 0), 0);
  return visited;
}

function onlyMalformed(buf: Uint8Array): void {
  try {
    walk(buf);
  } catch (err) {
    assert.ok(err instanceof WeftError && err.code === 'WEFT_DER_MALFORMED', `threw ${String(err)}`);
    assert.match(err.message, /^malformed DER: /);
  }
}

describe('lib/der.ts on hostile bytes', () => {
  test('ok/a real CSR walks to the end without error', () => {
    assert.ok(walk(csrDer) > 20);
  });

  test('fail/random bytes: only WEFT_DER_MALFORMED, never another error or a loop', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), onlyMalformed), { numRuns: 5000 });
  });

  test('fail/random bytes under a plausible SEQUENCE header: only WEFT_DER_MALFORMED', () => {
    const framed = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((body) => {
      const len = body.length < 0x80 ? [body.length] : [0x82, body.length >> 8, body.length & 0xff];
      return Uint8Array.from([0x30, ...len, ...body]);
    });
    fc.assert(fc.property(framed, onlyMalformed), { numRuns: 5000 });
  });

  test('fail/a real CSR with bytes changed, cut or lengths forged: only WEFT_DER_MALFORMED', () => {
    const mutated = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), cut: fc.option(fc.nat()), more: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }) }).map(({ at, value, cut, more }) => {
      const b = Buffer.from(csrDer);
      for (const [i, v] of [[at, value] as const, ...more]) b[i % b.length] = v;
      return cut === null ? b : b.subarray(0, cut % (b.length + 1));
    });
    fc.assert(fc.property(mutated, onlyMalformed), { numRuns: 5000 });
  });

  const cases: [string, number[], RegExp][] = [
    ['fail/empty input', [], /truncated at byte 0/],
    ['fail/a tag without a length', [0x30], /truncated at byte 0/],
    ['fail/indefinite length', [0x30, 0x80, 0x00, 0x00], /indefinite length/],
    ['fail/a five-byte length', [0x30, 0x85, 1, 0, 0, 0, 0], /length of 5 bytes/],
    ['fail/a non-minimal long length', [0x30, 0x81, 0x05, 1, 2, 3, 4, 5], /non-minimal length/],
    ['fail/a long length with a leading zero', [0x30, 0x82, 0x00, 0x85], /non-minimal length/],
    ['fail/a length past the end', [0x30, 0x05, 1, 2], /content runs past its container/],
    ['fail/a 4 GiB length', [0x30, 0x84, 0xff, 0xff, 0xff, 0xff], /content runs past its container/],
    ['fail/a multi-byte tag', [0x1f, 0x81, 0x01, 0x00], /multi-byte tag/],
    ['fail/a child running past its parent', [0x30, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x00], /content runs past its container/],
  ];
  for (const [name, bytes, message] of cases) {
    test(name, () => {
      assert.throws(() => walk(Uint8Array.from(bytes)), (err) => err instanceof WeftError && err.code === 'WEFT_DER_MALFORMED' && message.test(err.message));
    });
  }
});
