import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { extractTokens, parseCookies, parseQueryParams, removeQueryParams, stripPrefix } from './index.js';

const ows = fc.stringMatching(/^[ \t]{0,3}$/);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{0,20}$/);
const prefix = fc.oneof(fc.constant('Bearer '), fc.constant('Tok '), fc.stringMatching(/^[A-Za-z]{1,8} ?$/));
const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

describe('token extraction', () => {
  test('a header value that does not start with the prefix never yields a token', () => {
    fc.assert(
      fc.property(prefix, fc.string({ maxLength: 40 }), (p, value) => {
        const trimmed = value.replace(/^[ \t]+/, '');
        fc.pre(!lower(trimmed).startsWith(lower(p)));
        assert.equal(stripPrefix(value, p), undefined);
        assert.deepEqual(extractTokens({ headers: { 'x-t': value } }, [{ kind: 'header', name: 'x-t', prefix: p }]), []);
      }),
    );
  });

  test('the prefix in any case, with spaces and tabs around, yields exactly the token', () => {
    fc.assert(
      fc.property(prefix, token, ows, ows, ows, fc.boolean(), (p, t, a, b, c, upper) => {
        const shown = upper ? p.toUpperCase() : lower(p);
        assert.equal(stripPrefix(`${a}${shown}${b}${t}${c}`, p), t);
      }),
    );
  });

  test('whitespace is trimmed, never removed from inside a token', () => {
    fc.assert(
      fc.property(token, token, fc.stringMatching(/^[ \t]{1,3}$/), (t1, t2, ws) => {
        assert.equal(stripPrefix(`Bearer ${t1}${ws}${t2}`, 'Bearer '), `${t1}${ws}${t2}`);
      }),
    );
  });

  test('every value of a repeated header, parameter or cookie is a token', () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 4 }), (tokens) => {
        const found = extractTokens(
          { headers: { authorization: tokens.map((t) => `Bearer ${t}`) }, params: { access_token: tokens }, cookies: { s: tokens } },
          [{ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token' }, { kind: 'cookie', name: 's' }],
        );
        assert.deepEqual(found.map((f) => f.token), [...tokens, ...tokens, ...tokens]);
      }),
    );
  });

  test('query parameters and cookies decode back to the token; removal leaves the others', () => {
    fc.assert(
      fc.property(token, fc.stringMatching(/^[a-z]{1,6}$/), (t, other) => {
        const target = `/p?${other}x=1&access_token=${encodeURIComponent(t)}#frag`;
        assert.equal(parseQueryParams(target).access_token, t);
        assert.equal(removeQueryParams(target, ['access_token']), `/p?${other}x=1#frag`);
        assert.deepEqual(parseCookies([`a=1; session=${t}`, `session="${t}"`]).session, [t, t]);
      }),
    );
  });

  test('no prefix configured: the whole value is the token', () => {
    assert.equal(stripPrefix('  abc.def.ghi\t', ''), 'abc.def.ghi');
    assert.equal(stripPrefix('Bearer', 'Bearer '), undefined);
    assert.equal(removeQueryParams('/p?access_token=x', ['access_token']), '/p');
  });
});
