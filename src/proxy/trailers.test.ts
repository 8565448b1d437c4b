import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isSidecarOwnedHeader } from '../policy/index.js';
import { HOP_BY_HOP } from './hop-headers.js';
import { announcesTrailers, forwardableTrailers, MAX_TRAILER_BYTES, MAX_TRAILER_FIELDS } from './trailers.js';

const NEVER = ['content-length', 'transfer-encoding', 'host', 'trailer', 'authorization', 'cookie', 'set-cookie', 'content-type', 'x-forwarded-client-cert', 'x-weft-proxy-error', ':path', 'connection', 'te'];

describe('trailers', () => {
  test('keeps ordinary fields, lower-cased, with every value', () => {
    const t = forwardableTrailers({ 'X-Checksum': 'abc', 'grpc-status': '0', 'x-multi': ['a', 'b'] });
    assert.deepEqual(t, { ok: true, fields: { 'x-checksum': 'abc', 'grpc-status': '0', 'x-multi': ['a', 'b'] }, dropped: 0 });
  });

  test('drops framing, routing, connection, credential, content and sidecar-owned fields, counting each value', () => {
    const src: Record<string, string | string[]> = { 'x-ok': '1' };
    for (const name of NEVER) src[name] = 'v';
    src['set-cookie'] = ['a=1', 'b=2'];
    const t = forwardableTrailers(src, ['x-jwt-sub']);
    assert.ok(t.ok);
    assert.deepEqual(t.fields, { 'x-ok': '1' });
    assert.equal(t.dropped, NEVER.length + 1);
    const jwt = forwardableTrailers({ 'x-jwt-sub': 'forged' }, ['x-jwt-sub']);
    assert.ok(jwt.ok);
    assert.deepEqual(jwt.fields, {});
  });

  test('drops values HTTP/1.1 and HTTP/2 would not carry alike, and names that are not tokens', () => {
    const t = forwardableTrailers({ 'x-a': ' padded', 'x-b': 'line\r\nbreak', 'x c': 'v', 'x-d': 'fine' });
    assert.ok(t.ok);
    assert.deepEqual(t.fields, { 'x-d': 'fine' });
    assert.equal(t.dropped, 3);
  });

  test('a section over the bounds is refused whole', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i <= MAX_TRAILER_FIELDS; i++) many[`x-${i}`] = 'v';
    assert.equal(forwardableTrailers(many).ok, false);
    assert.equal(forwardableTrailers({ 'x-big': 'v'.repeat(MAX_TRAILER_BYTES) }).ok, false);
    assert.deepEqual(forwardableTrailers(undefined), { ok: true, fields: {}, dropped: 0 });
  });

  test('__proto__ is a field like any other, never the prototype', () => {
    const src = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const t = forwardableTrailers(src);
    assert.ok(t.ok);
    assert.equal(Object.getPrototypeOf(t.fields), Object.prototype);
    assert.deepEqual(Object.keys(t.fields), ['__proto__']);
  });

  test('property: nothing forbidden, owned or hop-by-hop ever passes, and nothing else is lost within the bounds', () => {
    const name = fc.oneof(fc.constantFrom(...NEVER, 'x-ok', 'grpc-message', 'X-Mixed'), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/));
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 20 }), (src) => {
        const t = forwardableTrailers(src, ['x-jwt-payload']);
        assert.ok(t.ok);
        let total = 0;
        for (const v of Object.values(src)) total += typeof v === 'string' ? 1 : v.length;
        let kept = 0;
        for (const [n, v] of Object.entries(t.fields)) {
          assert.equal(n, n.toLowerCase());
          assert.ok(!HOP_BY_HOP.has(n) && !isSidecarOwnedHeader(n, ['x-jwt-payload']) && !NEVER.includes(n) && !n.startsWith(':'), n);
          kept += typeof v === 'string' ? 1 : v.length;
        }
        assert.equal(kept + t.dropped, total);
      }),
      { numRuns: 300 },
    );
  });

  test('announcements: a Trailer field or TE: trailers', () => {
    assert.equal(announcesTrailers({ trailer: 'x-a' }), true);
    assert.equal(announcesTrailers({ te: 'trailers' }), true);
    assert.equal(announcesTrailers({ te: 'gzip' }), false);
    assert.equal(announcesTrailers({}), false);
  });
});
