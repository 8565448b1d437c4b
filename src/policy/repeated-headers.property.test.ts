// Properties of a repeated header (fast-check): its readings are each value and the values joined
// with ", " (what an app that joins them sees). A DENY (or AUDIT, CUSTOM) condition that a single
// reading would match still matches the repeated header; an ALLOW condition the repeated header
// matches is matched by every single reading. So repetition can only ever deny more.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Condition } from '../config/generated/types.js';
import { FIELD_JOINER } from './compile-rule.js';
import { evaluate } from './evaluate.js';
import { authz, compile, request } from './testing/fixtures.js';

const VALUE = fc.constantFrom('admin', 'user', 'ad', 'min', 'admin, user', 'user, admin', '', 'x');
const PATTERN = fc.constantFrom('admin', 'user', 'admin*', '*min', '*', 'user, admin', 'ad*', '*user');
const condition: fc.Arbitrary<Condition> = fc
  .record({ values: fc.option(fc.uniqueArray(PATTERN, { minLength: 1, maxLength: 3 }), { nil: undefined }), notValues: fc.option(fc.uniqueArray(PATTERN, { minLength: 1, maxLength: 3 }), { nil: undefined }) })
  .filter((c) => c.values !== undefined || c.notValues !== undefined)
  .map((c) => ({ key: 'request.headers[x-role]', ...(c.values === undefined ? {} : { values: c.values }), ...(c.notValues === undefined ? {} : { notValues: c.notValues }) }));
const repeated = fc.array(VALUE, { minLength: 2, maxLength: 4 });

function readings(values: readonly string[]): string[] {
  return [...values, values.join(FIELD_JOINER)];
}

function allowed(action: 'ALLOW' | 'DENY' | 'CUSTOM', when: Condition, header: string | readonly string[]): boolean {
  const compiled = compile([authz('foo', 'p', { action, ...(action === 'CUSTOM' ? { provider: { name: 'none' } } : {}), rules: [{ when: [when] }] })]);
  return evaluate(compiled, request({ headers: { 'x-role': header } })).allow;
}

function audited(when: Condition, header: string | readonly string[]): boolean {
  const compiled = compile([authz('foo', 'p', { action: 'AUDIT', rules: [{ when: [when] }] })]);
  return evaluate(compiled, request({ headers: { 'x-role': header } })).auditMatches.length > 0;
}

const RUNS = { numRuns: 500 };

describe('a repeated header is matched fail-closed', () => {
  test('a DENY a single reading would match also matches the repeated header', () => {
    fc.assert(fc.property(condition, repeated, (when, values) => {
      if (readings(values).some((v) => !allowed('DENY', when, v))) assert.equal(allowed('DENY', when, values), false);
    }), RUNS);
  });

  test('a CUSTOM rule and an AUDIT rule follow the DENY semantics', () => {
    fc.assert(fc.property(condition, repeated, (when, values) => {
      if (readings(values).some((v) => !allowed('CUSTOM', when, v))) assert.equal(allowed('CUSTOM', when, values), false);
      if (readings(values).some((v) => audited(when, v))) assert.equal(audited(when, values), true);
    }), RUNS);
  });

  test('an ALLOW the repeated header matches is matched by every single reading', () => {
    fc.assert(fc.property(condition, repeated, (when, values) => {
      if (allowed('ALLOW', when, values)) for (const v of readings(values)) assert.equal(allowed('ALLOW', when, v), true, `reading ${JSON.stringify(v)}`);
    }), RUNS);
  });

  test('a header sent once decides the same whether or not it is given as a one-element list', () => {
    fc.assert(fc.property(condition, VALUE, fc.constantFrom('ALLOW', 'DENY') as fc.Arbitrary<'ALLOW' | 'DENY'>, (when, v, action) => {
      assert.equal(allowed(action, when, [v]), allowed(action, when, v));
    }), RUNS);
  });
});

describe('repeated header table', () => {
  const cases: ReadonlyArray<readonly [string, 'ALLOW' | 'DENY', Condition, readonly string[], boolean]> = [
    ['fail/DENY x-role == admin: admin as the second value', 'DENY', { key: 'request.headers[x-role]', values: ['admin'] }, ['user', 'admin'], false],
    ['fail/DENY x-role == "user, admin": the joined value', 'DENY', { key: 'request.headers[x-role]', values: ['user, admin'] }, ['user', 'admin'], false],
    ['fail/DENY x-role != admin: a value that is not admin', 'DENY', { key: 'request.headers[x-role]', notValues: ['admin'] }, ['admin', 'admin'], false],
    ['ok/DENY x-role == admin: no value is admin', 'DENY', { key: 'request.headers[x-role]', values: ['admin'] }, ['user', 'guest'], true],
    ['fail/ALLOW x-role == user: one value is not user', 'ALLOW', { key: 'request.headers[x-role]', values: ['user'] }, ['user', 'admin'], false],
    ['fail/ALLOW x-role == user: the joined value is not user', 'ALLOW', { key: 'request.headers[x-role]', values: ['user'] }, ['user', 'user'], false],
    ['ok/ALLOW x-role == user*: every reading starts with user', 'ALLOW', { key: 'request.headers[x-role]', values: ['user*'] }, ['user', 'user'], true],
    ['fail/ALLOW x-role != admin: one value is admin', 'ALLOW', { key: 'request.headers[x-role]', notValues: ['admin'] }, ['user', 'admin'], false],
    ['ok/ALLOW presence: a repeated header is present', 'ALLOW', { key: 'request.headers[x-role]', values: ['*'] }, ['a', 'b'], true],
  ];
  for (const [name, action, when, values, expected] of cases) test(name, () => assert.equal(allowed(action, when, values), expected));
});
