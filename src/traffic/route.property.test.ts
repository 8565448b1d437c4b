// Properties of routing over whole tables (fast-check): the first route whose block matches
// decides, as a direct reading says; routing is total over any request, however malformed or large.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { HTTPMatchRequest, HTTPRoute, StringMatch } from '../config/generated/types.js';
import type { RouteRequest } from './request.js';
import { req, REVIEWS, table, vs } from './testing/fixtures.js';

const block: fc.Arbitrary<HTTPMatchRequest> = fc.record({
  uri: fc.oneof(fc.constantFrom('/a', '/b', '/a/b').map((prefix) => ({ prefix })), fc.constantFrom('/a', '/b').map((exact) => ({ exact }))),
  method: fc.constantFrom('GET', 'POST').map((exact) => ({ exact })),
  headers: fc.constantFrom<Record<string, StringMatch>>({}, { 'x-v': { exact: '1' } }, { 'x-v': {} }),
  port: fc.constantFrom(9080, 9443),
}, { requiredKeys: [] });
const routes = fc.array(fc.record({ match: fc.option(fc.array(block, { minLength: 1, maxLength: 3 }), { nil: undefined }) }), { minLength: 1, maxLength: 5 })
  .map((rs) => rs.map((r, i): HTTPRoute => ({ name: `r${i}`, ...(r.match === undefined ? {} : { match: r.match.map((m, j) => ({ ...m, name: `m${j}` })) }), route: [{ destination: { host: 'reviews' } }] })));
const request = fc.record({
  path: fc.constantFrom('/a', '/b', '/a/b', '/c', '/a?x'),
  method: fc.constantFrom('GET', 'POST'),
  port: fc.constantFrom(9080, 9443),
  headers: fc.constantFrom<Record<string, string>>({}, { 'x-v': '1' }, { 'x-v': '2' }),
});

function blockMatches(m: HTTPMatchRequest, r: { path: string; method: string; port: number; headers: Record<string, string> }): boolean {
  const path = r.path.split('?')[0]!;
  if (m.port !== undefined && m.port !== r.port) return false;
  if (m.uri?.prefix !== undefined && !path.startsWith(m.uri.prefix)) return false;
  if (m.uri?.exact !== undefined && path !== m.uri.exact) return false;
  if (m.method?.exact !== undefined && r.method !== m.method.exact) return false;
  for (const [k, s] of Object.entries(m.headers ?? {})) {
    const v = r.headers[k];
    if (v === undefined || (s.exact !== undefined && v !== s.exact)) return false;
  }
  return true;
}

function expected(rs: readonly HTTPRoute[], r: Parameters<typeof blockMatches>[1]): string {
  for (const route of rs) {
    if (route.match === undefined) return route.name!;
    const hit = route.match.find((m) => blockMatches(m, r));
    if (hit !== undefined) return `${route.name}.${hit.name}`;
  }
  return 'no-route';
}

test('the first route with a matching block decides', () => {
  fc.assert(fc.property(routes, request, (rs, r) => {
    const t = table([vs('default', 'p', { hosts: ['reviews'], http: rs })]);
    const d = t.route(req(REVIEWS, r));
    assert.equal(d.kind === 'forward' ? d.routeName : d.kind, expected(rs, r));
  }), { numRuns: 1000 });
});

const t = table([vs('default', 'p', { hosts: ['reviews'], http: [
  { match: [{ uri: { regex: '/v[0-9]+(/.*)?' } }], rewrite: { uriRegexRewrite: { match: '/v([0-9]+)', rewrite: '/version-\\1' } }, route: [{ destination: { host: 'reviews' } }] },
  { match: [{ queryParams: { q: { regex: '[a-z]*' } }, headers: { 'x-h': { prefix: 'a' } } }], redirect: { prefixRewrite: '/r', scheme: 'https' } },
  { match: [{ withoutHeaders: { 'x-h': {} }, uri: { prefix: '/d' } }], directResponse: { status: 503 } },
  { match: [{ uri: { prefix: '/x' } }], rewrite: { uri: '/y' }, route: [{ destination: { host: 'ratings' } }] },
] })]);

test('route never throws, whatever the request', () => {
  const text = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ minLength: 5000, maxLength: 20000 }), fc.constantFrom('/v1', '/v12/x?q=abc', '/d', '/x/..%2f?q', '?', '#', '/%zz?q=%'));
  fc.assert(fc.property(text, text, fc.string(), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), fc.integer({ min: 0, max: 70000 }), (path, authority, method, h, port) => {
    const r: RouteRequest = { host: REVIEWS, port, method, path, scheme: 'http', authority, header: (n) => (n === 'x-h' ? h : undefined) };
    const d = t.route(r);
    assert.ok(['forward', 'redirect', 'direct', 'no-route'].includes(d.kind));
  }), { numRuns: 500 });
});
