import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizePath, removeDotSegments, type PathNormalization } from './normalize-path.js';

function path(raw: string, mode: PathNormalization): string {
  const r = normalizePath(raw, mode);
  assert.ok(r.ok, `${raw} was refused: ${r.ok ? '' : r.reason}`);
  return r.path;
}

describe('normalizePath', () => {
  const cases: ReadonlyArray<readonly [string, PathNormalization, string]> = [
    ['ok/NONE keeps the path byte for byte', 'NONE', '/a/./b/../%2e//c'],
    ['ok/BASE removes dot segments', 'BASE', '/a/c'],
    ['ok/MERGE_SLASHES also merges slashes', 'MERGE_SLASHES', '/a/c'],
  ];
  for (const [name, mode, want] of cases) test(name, () => assert.equal(path(mode === 'NONE' ? '/a/./b/../%2e//c' : '/a/./b/../c', mode), want));

  test('ok/BASE follows RFC 3986 §5.2.4 at the edges', () => {
    assert.equal(removeDotSegments('/a/b/..'), '/a/');
    assert.equal(removeDotSegments('/a/b/.'), '/a/b/');
    assert.equal(removeDotSegments('/..'), '/');
    assert.equal(removeDotSegments('/../../a'), '/a');
    assert.equal(removeDotSegments('/a//../b'), '/a/b');
    assert.equal(removeDotSegments('/'), '/');
  });

  test('ok/BASE decodes percent-encoded unreserved characters and keeps other escapes as written', () => {
    assert.equal(path('/%61%62c%2D%5f%7e', 'BASE'), '/abc-_~');
    assert.equal(path('/a%2fb%3Bc%20', 'BASE'), '/a%2fb%3Bc%20');
  });

  test('ok/BASE turns backslashes into slashes as Envoy does', () => {
    assert.equal(path('/a\\b\\..\\c', 'BASE'), '/a/c');
  });

  test('ok/only DECODE_AND_MERGE_SLASHES decodes %2F and %5C, in either case, once', () => {
    assert.equal(path('/a%2Fb%2fc%5Cd%5ce', 'MERGE_SLASHES'), '/a%2Fb%2fc%5Cd%5ce');
    assert.equal(path('/a%2Fb%2fc%5Cd%5ce', 'DECODE_AND_MERGE_SLASHES'), '/a/b/c/d/e');
    assert.equal(path('/a%252Fb', 'DECODE_AND_MERGE_SLASHES'), '/a%252Fb');
    assert.equal(path('/a/%2e%2E/b', 'DECODE_AND_MERGE_SLASHES'), '/b');
  });

  test('ok/the query string is split off unchanged and the target keeps it', () => {
    const r = normalizePath('/a/../b?x=/../y&z=%2F', 'DECODE_AND_MERGE_SLASHES');
    assert.deepEqual(r, { ok: true, path: '/b', query: '?x=/../y&z=%2F', target: '/b?x=/../y&z=%2F' });
  });

  test('ok/a fragment is stripped when asked to (Istio\'s setting)', () => {
    const r = normalizePath('/user/profile#section1', 'BASE', { fragment: 'strip' });
    assert.deepEqual(r, { ok: true, path: '/user/profile', query: '', target: '/user/profile' });
    assert.equal(path('/a?q#f'.replace('#f', ''), 'BASE'), '/a');
  });

  test('ok/characters outside RFC 3986 are percent-encoded in UTF-8 so app and policy see one spelling', () => {
    assert.equal(path('/caf\u00e9/<x>', 'BASE'), '/caf%C3%A9/%3Cx%3E');
    assert.equal(path('/\u{1F600}', 'BASE'), '/%F0%9F%98%80');
    assert.equal(path('/\ud800x', 'BASE'), '/%EF%BF%BDx');
  });

  test('ok/a dot segment with path parameters is still a dot segment', () => {
    assert.equal(path('/user/..;foo=bar/admin', 'BASE'), '/admin');
    assert.equal(path('/a/.;x/b', 'BASE'), '/a/b');
    assert.equal(path('/admin;x=y', 'BASE'), '/admin;x=y');
  });

  const refusals: ReadonlyArray<readonly [string, string, string]> = [
    ['fail/a fragment is refused by default (Envoy)', '/admin#frag', 'fragment'],
    ['fail/a "%" without two hex digits', '/a%2', 'invalid-percent-encoding'],
    ['fail/a "%" followed by non-hex', '/a%zz/b', 'invalid-percent-encoding'],
    ['fail/an encoded NUL', '/a%00b', 'encoded-nul'],
    ['fail/a raw control character', '/a\u0001b', 'control-character'],
    ['fail/a space', '/a b', 'control-character'],
    ['fail/DEL', '/a\u007f', 'control-character'],
    ['fail/an absolute-form target', 'http://x/a', 'not-origin-form'],
    ['fail/an empty target', '', 'not-origin-form'],
    ['fail/the asterisk form', '*', 'not-origin-form'],
  ];
  for (const [name, raw, rejection] of refusals) {
    test(name, () => {
      for (const mode of ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'] as const) {
        const r = normalizePath(raw, mode);
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.rejection, rejection);
        assert.equal(!r.ok && r.status, 400);
      }
    });
  }

  test('fail/an invalid escape in the query is not the path\'s business', () => {
    assert.equal(normalizePath('/a?x=%zz', 'BASE').ok, true);
  });
});
