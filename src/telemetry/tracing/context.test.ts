import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decideHop, decideSampling, extractTrace, formatTracestate, parseB3Multi, parseB3Single, parseTraceparent, parseTracestate,
  requestId, samplingBasisPoints, traceDecisionOf, traceHeaders, withTraceDecision,
} from './index.js';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';

describe('traceparent', () => {
  test('version 00, sampled and not', () => {
    assert.deepEqual(parseTraceparent(`00-${TID}-${SID}-01`), { traceId: TID, parentId: SID, sampled: true });
    assert.deepEqual(parseTraceparent(`00-${TID}-${SID}-00`), { traceId: TID, parentId: SID, sampled: false });
    assert.equal(parseTraceparent(`00-${TID}-${SID}-03`)?.sampled, true, 'unknown flag bits are ignored');
  });

  const invalid: [string, string | string[]][] = [
    ['uppercase hex', `00-${TID.toUpperCase()}-${SID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SID}-01`],
    ['all-zero parent id', `00-${TID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TID}-${SID}-01`],
    ['version 00 with extra fields', `00-${TID}-${SID}-01-extra`],
    ['short trace id', `00-${TID.slice(1)}-${SID}-01`],
    ['bad flags', `00-${TID}-${SID}-0g`],
    ['wrong separators', `00_${TID}_${SID}_01`],
    ['repeated header', [`00-${TID}-${SID}-01`, `00-${TID}-${SID}-01`]],
    ['a future version glued to more text', `01-${TID}-${SID}-01x`],
    ['oversized', `01-${TID}-${SID}-01-${'a'.repeat(10_000)}`],
  ];
  for (const [name, v] of invalid) test(`invalid: ${name}`, () => assert.equal(parseTraceparent(v), undefined));

  test('a future version is read by the version-00 layout, extra fields after a dash ignored', () => {
    assert.deepEqual(parseTraceparent(`cc-${TID}-${SID}-01-what-the-future-holds`), { traceId: TID, parentId: SID, sampled: true });
    assert.deepEqual(parseTraceparent(`cc-${TID}-${SID}-00`), { traceId: TID, parentId: SID, sampled: false });
  });

  test('property: never throws, and what it accepts is well-formed', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.tuple(fc.stringMatching(/^[0-9a-fA-F]{2}$/), fc.stringMatching(/^[0-9a-f]{32}$/), fc.stringMatching(/^[0-9a-f]{16}$/), fc.stringMatching(/^[0-9a-f]{2}$/)).map((p) => p.join('-'))), (s) => {
        const p = parseTraceparent(s);
        return p === undefined || (/^[0-9a-f]{32}$/.test(p.traceId) && /^[0-9a-f]{16}$/.test(p.parentId) && !/^0+$/.test(p.traceId) && !/^0+$/.test(p.parentId));
      }),
    );
  });
});

describe('tracestate', () => {
  test('members, multi-tenant keys, repeated headers joined, empty members skipped', () => {
    assert.deepEqual(parseTracestate(['congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7, ,tenant@vendor=x']), [
      { key: 'congo', value: 't61rcWkgMzE' },
      { key: 'rojo', value: '00f067aa0ba902b7' },
      { key: 'tenant@vendor', value: 'x' },
    ]);
  });

  test('invalid as a whole: duplicate key, bad key, bad value, over 32 members', () => {
    assert.equal(parseTracestate('a=1,a=2'), undefined);
    assert.equal(parseTracestate('A=1'), undefined);
    assert.equal(parseTracestate('a=x=y,b'), undefined);
    assert.equal(parseTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')), undefined);
  });

  test('what is passed on is at most 512 characters: long members go first', () => {
    const members = [{ key: 'big', value: 'x'.repeat(200) }, ...Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(10) }))];
    const out = formatTracestate(members)!;
    assert.ok(out.length <= 512);
    assert.ok(!out.includes('big='));
    assert.ok(out.startsWith('k0='));
  });
});

describe('B3', () => {
  test('single header: full, with parent, debug, bare decision; 64-bit trace ids padded', () => {
    assert.deepEqual(parseB3Single(`${TID}-${SID}-1`), { traceId: TID, spanId: SID, sampled: true, debug: false });
    assert.deepEqual(parseB3Single(`${TID}-${SID}-d-${SID}`), { traceId: TID, spanId: SID, parentSpanId: SID, sampled: true, debug: true });
    assert.deepEqual(parseB3Single('0'), { sampled: false, debug: false });
    assert.deepEqual(parseB3Single(`a3ce929d0e0e4736-${SID}`), { traceId: `0000000000000000a3ce929d0e0e4736`, spanId: SID, debug: false });
    for (const bad of ['x', `${TID}`, `${TID}-${SID}-2`, `${TID}-${SID}-1-${SID}-x`, `${TID}-zz`, 'true', `${'0'.repeat(32)}-${SID}-1`]) assert.equal(parseB3Single(bad), undefined, bad);
  });

  test('multi headers: ids, sampled, flags (debug implies sampled); malformed ones are ignored', () => {
    assert.deepEqual(parseB3Multi({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-sampled': '0' }), { traceId: TID, spanId: SID, sampled: false, debug: false });
    assert.deepEqual(parseB3Multi({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-flags': '1' }), { traceId: TID, spanId: SID, sampled: true, debug: true });
    assert.equal(parseB3Multi({ 'x-b3-traceid': TID }), undefined, 'a trace id without a span id');
    assert.equal(parseB3Multi({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-sampled': 'maybe' }), undefined);
    assert.equal(parseB3Multi({ 'x-b3-traceid': [TID, TID], 'x-b3-spanid': SID }), undefined, 'a repeated header');
    assert.equal(parseB3Multi({}), undefined);
  });
});

describe('extract and inject', () => {
  test('traceparent wins over b3; the single b3 over the multi headers', () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    assert.equal(extractTrace({ traceparent: `00-${TID}-${SID}-01`, b3: `${other}-${SID}-1` }).traceId, TID);
    assert.equal(extractTrace({ b3: `${other}-${SID}-0`, 'x-b3-traceid': TID, 'x-b3-spanid': SID }).traceId, other);
    assert.equal(extractTrace({ b3: `${other}-${SID}-0` }).format, 'b3-single');
  });

  test('a malformed traceparent falls through to B3, and its tracestate is ignored', () => {
    const t = extractTrace({ traceparent: 'garbage', tracestate: 'a=1', 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-sampled': '1' });
    assert.equal(t.format, 'b3');
    assert.equal(t.tracestate, undefined);
  });

  test('the next hop gets W3C and B3 multi with this hop\'s span as parent; a stale single b3 is removed', () => {
    const hop = decideHop(extractTrace({ traceparent: `00-${TID}-${SID}-01`, tracestate: 'rojo=1', 'x-request-id': 'abc', b3: 'x' }), 1);
    const { set, remove } = traceHeaders(hop);
    assert.equal(set.traceparent, `00-${TID}-${hop.spanId}-01`);
    assert.equal(set.tracestate, 'rojo=1');
    assert.equal(set['x-b3-traceid'], TID);
    assert.equal(set['x-b3-spanid'], hop.spanId);
    assert.equal(set['x-b3-parentspanid'], SID);
    assert.equal(set['x-b3-sampled'], '1');
    assert.equal(set['x-request-id'], 'abc');
    assert.ok(remove.includes('b3'));
    assert.notEqual(hop.spanId, SID);
  });

  test('an incoming decision is honoured either way, whatever the percentage', () => {
    assert.equal(decideHop(extractTrace({ traceparent: `00-${TID}-${SID}-00` }), 100).sampled, false);
    assert.equal(decideHop(extractTrace({ traceparent: `00-${TID}-${SID}-01` }), 0).sampled, true);
    assert.equal(decideHop(extractTrace({ 'x-b3-flags': '1' }), 0).sampled, true, 'debug forces sampling');
  });

  test('a generated request id carries the trace decision in its 14th character', () => {
    const sampled = decideHop(extractTrace({}), 100);
    assert.equal(traceDecisionOf(sampled.requestId), 'sampled');
    assert.equal(sampled.requestId[14], '9');
    const not = decideHop(extractTrace({}), 0);
    assert.equal(not.requestId[14], '4');
    assert.match(not.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('x-request-id', () => {
  test('kept when usable; generated when absent, repeated, oversized or unprintable', () => {
    assert.deepEqual(requestId('req-1'), { id: 'req-1', generated: false });
    for (const bad of [undefined, '', ['a', 'b'], 'x'.repeat(129), 'a b', 'a\u0000b']) assert.equal(requestId(bad).generated, true, String(bad));
    assert.equal(withTraceDecision('not-a-uuid', 'sampled'), 'not-a-uuid');
  });
});

describe('sampling', () => {
  test('percent with 0.01 precision; out of range falls back to 1 %', () => {
    assert.equal(samplingBasisPoints(undefined), 100);
    assert.equal(samplingBasisPoints(0.01), 1);
    assert.equal(samplingBasisPoints(12.345), 1235);
    assert.equal(samplingBasisPoints(101), 100);
    assert.equal(samplingBasisPoints(-1), 100);
    assert.equal(samplingBasisPoints(Number.NaN), 100);
  });

  test('the draw decides against the basis points exactly', () => {
    assert.equal(decideSampling(1, undefined, () => 99), true);
    assert.equal(decideSampling(1, undefined, () => 100), false);
    assert.equal(decideSampling(100, undefined, () => 9999), true);
    assert.equal(decideSampling(0, undefined, () => 0), false);
  });

  test('random sampling at 50 % samples about half (wide tolerance)', () => {
    let n = 0;
    for (let i = 0; i < 4000; i++) if (decideSampling(50, undefined)) n++;
    assert.ok(n > 1500 && n < 2500, String(n));
  });
});
