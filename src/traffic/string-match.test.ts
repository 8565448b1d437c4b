import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goDurationMs } from './duration.js';
import { compileFullRegex, compileStringMatch, nestedRepetition } from './string-match.js';

describe('nestedRepetition', () => {
  for (const re of ['(a+)+', '(/[a-z]+)*', '((ab)*c)+', '(a{2,})+', '(a+){2}', '(x*)*y', '(?:a+)+', '((a)+)+']) {
    test(`fail/${re}`, () => assert.match(nestedRepetition(re)!, /nested quantifiers/));
  }
  for (const re of ['(a|b)+', '/api(/.*)?', '[(a+)]+', '\\(a+\\)+', '(a+){1}', '(ab)+', 'a+b*', '(a+)?', '/v[0-9]+/(users|items)']) {
    test(`ok/${re}`, () => assert.equal(nestedRepetition(re), undefined));
  }
  test('a refused regex never compiles into a matcher', () => {
    assert.match(compileFullRegex('(a+)+$') as string, /regex "\(a\+\)\+\$" repeats a group/);
    assert.equal(typeof compileStringMatch({ regex: '(a+)+' }, false), 'string');
  });
});

describe('goDurationMs', () => {
  test('reads Go durations to the millisecond', () => {
    assert.equal(goDurationMs('1h30m'), 5_400_000);
    assert.equal(goDurationMs('1.5s'), 1500);
    assert.equal(goDurationMs('250ms'), 250);
    assert.equal(goDurationMs('1500us'), 2);
    assert.equal(goDurationMs('0'), 0);
    assert.equal(goDurationMs('0s'), 0);
  });
  test('anything else is undefined', () => {
    for (const v of ['', '5', 's', '1x', '-1s', '1s ', 'x'.repeat(100)]) assert.equal(goDurationMs(v), undefined, v);
  });
});
