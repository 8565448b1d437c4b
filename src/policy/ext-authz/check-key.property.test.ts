// The decision cache's key: two requests share a cached answer only when the provider would have
// been sent exactly the same check (property tests over generated requests, both protocols).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkKey, grpcCheckRequest, httpCheckRequest, type CheckInput } from './check-request.js';
import { canonicalJson, compileProvider, type GrpcProvider, type HttpProvider } from './provider.js';

const http = compileProvider({ name: 'p', envoyExtAuthzHttp: { service: '127.0.0.1', port: 1, pathPrefix: '/check', includeRequestHeadersInCheck: ['x-*', 'cookie'], includeRequestBodyInCheck: { maxRequestBytes: 64 } } }) as HttpProvider;
const grpc = compileProvider({ name: 'p', envoyExtAuthzGrpc: { service: '127.0.0.1', port: 1, includeRequestBodyInCheck: { maxRequestBytes: 64 } } }) as GrpcProvider;

const small = fc.constantFrom('', 'a', 'b', 'A', 'a,b', '/', '/x', 'x-a');
const name = fc.constantFrom('x-a', 'x-b', 'cookie', 'authorization', 'accept', 'x-request-id');
const input: fc.Arbitrary<CheckInput> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'get'),
  target: fc.constantFrom('/', '/a', '/a?b=1', '/A'),
  authority: fc.constantFrom('h', 'h:80', 'H'),
  fields: fc.dictionary(name, fc.oneof(small, fc.array(small, { minLength: 1, maxLength: 2 }))),
  protocol: fc.constantFrom('HTTP/2' as const, 'HTTP/1.1' as const),
  sourcePrincipal: fc.option(fc.constantFrom('spiffe://td/ns/a/sa/b', 'spiffe://td/ns/a/sa/c'), { nil: undefined }),
  sourceAddress: fc.option(fc.constantFrom('10.0.0.1', '10.0.0.2'), { nil: undefined }),
  destinationPort: fc.constantFrom(80, 8080),
  body: fc.option(fc.record({ bytes: fc.uint8Array({ maxLength: 4 }), partial: fc.boolean() }), { nil: undefined }),
  size: fc.constantFrom(-1, 0, 4),
}, { requiredKeys: ['method', 'target', 'authority', 'fields', 'protocol', 'size'] });

for (const [label, build] of [['http', (i: CheckInput) => httpCheckRequest(http, i)], ['grpc', (i: CheckInput) => grpcCheckRequest(grpc, i)]] as const) {
  test(`ok/${label}: equal keys exactly when the checks sent are equal`, () => {
    fc.assert(
      fc.property(input, input, (a, b) => {
        const ca = build(a);
        const cb = build(b);
        const sameCheck = canonicalJson(ca) === canonicalJson(cb);
        assert.equal(checkKey('p', ca) === checkKey('p', cb), sameCheck);
      }),
      { numRuns: 2000 },
    );
  });
}

test('ok/the canonical text reads back as the same check (no two checks share a text)', () => {
  fc.assert(
    fc.property(input, (a) => {
      const check = httpCheckRequest(http, a);
      const back = JSON.parse(canonicalJson(check)) as { method: string; path: string; headers: [string, string][]; body: { $bytes: string } };
      assert.deepEqual([back.method, back.path, back.headers, Buffer.from(back.body.$bytes, 'base64')], [check.method, check.path, check.headers, Buffer.from(check.body)]);
    }),
  );
});

test('ok/the provider name is part of the key', () => {
  const check = httpCheckRequest(http, { method: 'GET', target: '/', authority: 'h', fields: {}, protocol: 'HTTP/2', size: -1 });
  assert.notEqual(checkKey('a', check), checkKey('b', check));
});
