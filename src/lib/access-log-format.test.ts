import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AccessLogFormatError, MAX_FORMAT_OPERATORS, parseAccessLogFormat } from './access-log-format.js';

describe('access log format grammar', () => {
  test('operators with arguments, alternatives and maximum lengths', () => {
    assert.deepEqual(parseAccessLogFormat('[%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%] %REQ(X-ENVOY-ORIGINAL-PATH?:PATH):64% x'), [
      { kind: 'text', text: '[' },
      { kind: 'operator', name: 'START_TIME', timeFormat: '%Y-%m-%dT%H:%M:%S.%3fZ' },
      { kind: 'text', text: '] ' },
      { kind: 'operator', name: 'REQ', header: 'x-envoy-original-path', altHeader: ':path', maxLength: 64 },
      { kind: 'text', text: ' x' },
    ]);
  });

  const refused: [string, string, string | undefined][] = [
    ['unknown operator named', '%FOO_BAR%', 'FOO_BAR'],
    ['REQ without a header', '%REQ%', 'REQ'],
    ['REQ with two alternatives', '%REQ(a?b?c)%', 'REQ'],
    ['an argument where none is taken', '%PROTOCOL(x)%', 'PROTOCOL'],
    ['an unclosed operator', 'x %PROTOCOL y', 'PROTOCOL'],
    ['a lone percent sign', '100% sure', undefined],
    ['an unsupported time conversion', '%START_TIME(%Q)%', 'START_TIME'],
    ['a zero maximum length', '%PROTOCOL:0%', 'PROTOCOL'],
    ['a header name with a space', '%REQ(user agent)%', 'REQ'],
  ];
  for (const [name, format, op] of refused) {
    test(`refused: ${name}`, () => {
      assert.throws(() => parseAccessLogFormat(format), (err: unknown) => err instanceof AccessLogFormatError && err.code === 'WEFT_ACCESS_LOG_FORMAT_INVALID' && err.operator === op && (op === undefined || err.message.includes(`%${op}%`)));
    });
  }

  test('bounded: too many operators, too long a string', () => {
    assert.throws(() => parseAccessLogFormat('%PROTOCOL%'.repeat(MAX_FORMAT_OPERATORS + 1)), /more than 128 operators/);
    assert.throws(() => parseAccessLogFormat('x'.repeat(1_000_000)), /over the 16384 accepted/);
  });

  test('property: any string either parses or fails with the typed error, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(%[A-Z_]{0,12}(\([^)]{0,8}\))?(:\d{0,3})?%?|[ -~]{0,4})*$/)), (s) => {
        try {
          parseAccessLogFormat(s);
        } catch (err) {
          return err instanceof AccessLogFormatError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  test('property: text without a percent sign round-trips as one literal', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => !s.includes('%')), (s) => {
        assert.deepEqual(parseAccessLogFormat(s), [{ kind: 'text', text: s }]);
      }),
    );
  });

  test('property: literal text around operators comes back joined exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string().filter((s) => !s.includes('%')), fc.constantFrom('%PROTOCOL%', '%REQ(:PATH)%', '%START_TIME%')), { maxLength: 20 }), (pieces) => {
        const parts = parseAccessLogFormat(pieces.join(''));
        const back = parts.map((p) => (p.kind === 'text' ? p.text : p.name === 'REQ' ? '%REQ(:PATH)%' : `%${p.name}%`)).join('');
        assert.equal(back, pieces.join(''));
      }),
    );
  });
});
