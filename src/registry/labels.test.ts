import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isWeftError } from '../lib/errors.js';
import { labelKeyProblem, labelValueProblem, MAX_LABELS, validateLabels } from './labels.js';

// The Kubernetes rules restated character by character, independently of the validator's regexes.
const alnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
const isName = (s: string) => s.length >= 1 && s.length <= 63 && alnum(s[0]!) && alnum(s[s.length - 1]!) && [...s].every((c) => alnum(c) || '-_.'.includes(c));
const isDnsLabel = (s: string) => s.length >= 1 && /^[a-z0-9]$/.test(s[0]!) && /^[a-z0-9]$/.test(s[s.length - 1]!) && [...s].every((c) => /^[a-z0-9-]$/.test(c));
const isSubdomain = (s: string) => s.length >= 1 && s.length <= 253 && s.split('.').every(isDnsLabel);
const k8sKey = (k: string) => {
  const parts = k.split('/');
  if (parts.length === 1) return isName(parts[0]!);
  return parts.length === 2 && isSubdomain(parts[0]!) && isName(parts[1]!);
};
const k8sValue = (v: string) => v === '' || isName(v);

const charset = fc.constantFrom(...'abcXYZ019-_./ \u00e9\u0000:'.split(''));
const oddString = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: charset, maxLength: 300 }));
const goodName = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
const goodPrefix = fc.array(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/), { minLength: 1, maxLength: 8 }).map((p) => p.join('.'));

describe('label validation (Kubernetes qualified names and label values)', () => {
  test('property: every key and value it accepts satisfies the Kubernetes rules', () => {
    fc.assert(fc.property(oddString, (s) => assert.equal(labelKeyProblem(s) === undefined, k8sKey(s), `key ${JSON.stringify(s)}`)), { numRuns: 3_000 });
    fc.assert(fc.property(oddString, (s) => assert.equal(labelValueProblem(s) === undefined, k8sValue(s), `value ${JSON.stringify(s)}`)), { numRuns: 3_000 });
  });

  test('property: well-formed keys and values are accepted, and any longer than the limits refused', () => {
    fc.assert(
      fc.property(fc.option(goodPrefix, { nil: undefined }), goodName, goodName, (prefix, name, value) => {
        const key = prefix === undefined ? name : `${prefix}/${name}`;
        assert.equal(labelKeyProblem(key), undefined);
        assert.equal(labelValueProblem(value), undefined);
        assert.notEqual(labelKeyProblem(`${key}${'a'.repeat(64 - name.length)}`), undefined);
        assert.notEqual(labelValueProblem(`${value}${'a'.repeat(64 - value.length)}`), undefined);
      }),
      { numRuns: 1_000 },
    );
  });

  const cases: [string, Record<string, unknown>, RegExp | undefined][] = [
    ['ok/plain', { app: 'reviews', version: 'v1' }, undefined],
    ['ok/prefixed key, empty value', { 'app.kubernetes.io/name': '' }, undefined],
    ['ok/63-character name and value', { ['a'.repeat(63)]: 'b'.repeat(63) }, undefined],
    ['ok/253-character prefix', { [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}/x`]: 'y' }, undefined],
    [`ok/${MAX_LABELS} labels`, Object.fromEntries(Array.from({ length: MAX_LABELS }, (_, i) => [`k${i}`, 'v'])), undefined],
    [`fail/${MAX_LABELS + 1} labels`, Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`k${i}`, 'v'])), /65 labels; a workload has at most 64/],
    ['fail/64-character name', { ['a'.repeat(64)]: 'v' }, /the name is 64 characters long; at most 63/],
    ['fail/64-character value', { a: 'b'.repeat(64) }, /the value is 64 characters long; at most 63/],
    ['fail/1.3 MB value', { a: 'b'.repeat(1_300_000) }, /the value is 1300000 characters long/],
    ['fail/254-character prefix', { [`${'a'.repeat(254)}/x`]: 'y' }, /the prefix is 254 characters long; at most 253/],
    ['fail/uppercase prefix', { 'Example.com/x': 'y' }, /the prefix must be a DNS subdomain/],
    ['fail/empty label in prefix', { 'a..b/x': 'y' }, /the prefix must be a DNS subdomain/],
    ['fail/prefix label ending in "-"', { 'a-.b/x': 'y' }, /the prefix must be a DNS subdomain/],
    ['fail/two slashes', { 'a/b/c': 'y' }, /at most one "\/"/],
    ['fail/empty prefix', { '/x': 'y' }, /prefix before "\/" must not be empty/],
    ['fail/empty name', { 'a.io/': 'y' }, /the name must not be empty/],
    ['fail/empty key', { '': 'y' }, /the name must not be empty/],
    ['fail/name starting with "-"', { '-a': 'y' }, /beginning and ending with a letter or digit/],
    ['fail/value ending in "."', { a: 'b.' }, /beginning and ending with a letter or digit/],
    ['fail/space in value', { a: 'b c' }, /the value must be empty, or letters/],
    ['fail/non-ASCII value', { a: 'caf\u00e9' }, /the value must be empty, or letters/],
    ['fail/control character in key', { 'a\u0000b': 'c' }, /is not a valid label key/],
    ['fail/number value', { a: 7 }, /number is not a valid label value: a label value is a string/],
  ];
  for (const [name, labels, refused] of cases) {
    test(name, () => {
      if (refused === undefined) {
        assert.equal(validateLabels(labels), labels);
        return;
      }
      assert.throws(() => validateLabels(labels), (err: Error) => isWeftError(err, 'WEFT_REGISTRATION_INVALID') && refused.test(err.message) && err.message.length < 400);
    });
  }

  test('fail/not a map', () => {
    for (const bad of [null, 'a=b', ['a'], 3]) assert.throws(() => validateLabels(bad), /labels: a map of label keys to values is required/);
  });
});
