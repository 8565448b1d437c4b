// Compiled matching agrees with a direct reading of the HTTPMatchRequest semantics over random
// match blocks and requests drawn from a small vocabulary (so values often collide).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { HTTPMatchRequest, StringMatch } from '../config/generated/types.js';
import { compileMatch } from './match.js';
import { RequestView } from './request.js';
import { req } from './testing/fixtures.js';

const VALUES = ['', 'a', 'ab', 'A', '/api', '/api/v1', '/API', '1', '12'];
const REGEXES = ['a.*', '[0-9]+', '/api(/.*)?', '.*', 'ab|a'];
const stringMatch: fc.Arbitrary<StringMatch> = fc.oneof(
  fc.constantFrom(...VALUES).map((exact) => ({ exact })),
  fc.constantFrom(...VALUES.filter((v) => v !== '')).map((prefix) => ({ prefix })),
  fc.constantFrom(...REGEXES).map((regex) => ({ regex })),
  fc.constant({}),
);
const NAMES = ['x-a', 'x-b'];
const map = fc.dictionary(fc.constantFrom(...NAMES), stringMatch, { maxKeys: 2 });
const match: fc.Arbitrary<HTTPMatchRequest> = fc.record(
  { uri: stringMatch, method: stringMatch, scheme: stringMatch, authority: stringMatch, headers: map, withoutHeaders: map, queryParams: map, ignoreUriCase: fc.boolean() },
  { requiredKeys: [] },
);
const request = fc.record({
  path: fc.tuple(fc.constantFrom('/api', '/api/v1', '/API/V1', 'a', 'ab', '12', '/'), fc.constantFrom('', '?x-a=1', '?x-a', '?x-b=ab&x-a=a', '?x-a=12&x-a=a')).map(([p, q]) => p + q),
  method: fc.constantFrom('GET', 'a', '1'),
  scheme: fc.constantFrom('http', 'a', 'ab'),
  authority: fc.constantFrom('a', 'ab', '/api'),
  headers: fc.dictionary(fc.constantFrom(...NAMES), fc.oneof(fc.constantFrom(...VALUES), fc.array(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 })), { maxKeys: 2 }),
});

/** The semantics read straight from the spec, without compiling. */
function reference(m: HTTPMatchRequest, r: { path: string; method: string; scheme: string; authority: string; headers: Record<string, string | string[]> }): boolean {
  const sm = (s: StringMatch, v: string | undefined, fold = false): boolean => {
    if (v === undefined) return false;
    if (s.exact !== undefined) return fold ? v.toLowerCase() === s.exact.toLowerCase() : v === s.exact;
    if (s.prefix !== undefined) return fold ? v.toLowerCase().startsWith(s.prefix.toLowerCase()) : v.startsWith(s.prefix);
    if (s.regex !== undefined) return new RegExp(`^(?:${s.regex})$`).test(v);
    return true;
  };
  const [pathOnly, query = undefined] = r.path.split('?', 2) as [string, string?];
  const params = new Map<string, string>();
  for (const kv of (query ?? '').split('&').filter((x) => x !== '')) {
    const [k, v = ''] = kv.split('=', 2) as [string, string?];
    if (!params.has(k)) params.set(k, v);
  }
  const header = (n: string) => {
    const v = r.headers[n];
    return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : (v as string);
  };
  if (m.uri !== undefined && !sm(m.uri, pathOnly, m.ignoreUriCase === true && m.uri.regex === undefined)) return false;
  if (m.method !== undefined && !sm(m.method, r.method)) return false;
  if (m.scheme !== undefined && !sm(m.scheme, r.scheme)) return false;
  if (m.authority !== undefined && !sm(m.authority, r.authority)) return false;
  for (const [k, s] of Object.entries(m.headers ?? {})) if (!sm(s, header(k))) return false;
  for (const [k, s] of Object.entries(m.withoutHeaders ?? {})) if (sm(s, header(k))) return false;
  for (const [k, s] of Object.entries(m.queryParams ?? {})) if (!sm(s, params.get(k))) return false;
  return true;
}

test('compiled matching agrees with the reference reading', () => {
  fc.assert(fc.property(match, request, (m, r) => {
    const c = compileMatch(m);
    assert.equal(c.error, undefined);
    const got = c.test(new RequestView(req('h', r)));
    assert.equal(got, reference(m, r));
  }), { numRuns: 3000 });
});

test('a catch-all block matches every request', () => {
  fc.assert(fc.property(match, request, (m, r) => {
    const c = compileMatch(m);
    if (c.catchAll) assert.equal(c.test(new RequestView(req('h', r))), true);
  }), { numRuns: 1000 });
});
