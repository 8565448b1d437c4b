// Properties of host resolution (fast-check): total over any string; insensitive to case and to
// one trailing dot; a port in the authority always wins over the default one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromYaml, table } from './testing/fixtures.js';

const t = table(fromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: default}
spec:
  hosts: [api.example.com, "*.wild.example.org"]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
`));

const NAMES = ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local', 'details.shop', 'api.example.com', 'x.wild.example.org', 'nosuch.ns', 'www.example.com', '10.0.0.1', 'ratings'];
const authority = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'aZ.:[]-_9%@ \u0130\u212a'.split('')), maxLength: 40 }),
  fc.tuple(fc.constantFrom(...NAMES), fc.option(fc.integer({ min: -5, max: 70000 }), { nil: undefined })).map(([n, p]) => (p === undefined ? n : `${n}:${p}`)),
  fc.string({ minLength: 1000, maxLength: 1100 }),
);

test('resolve never throws and always answers a known kind', () => {
  fc.assert(fc.property(authority, fc.integer({ min: 1, max: 65535 }), (a, port) => {
    const r = t.resolve(a, port);
    assert.ok(['service', 'service-entry', 'unknown-port', 'unregistered', 'invalid'].includes(r.kind));
  }), { numRuns: 2000 });
});

const cased = (s: string, flips: boolean[]) => [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');

test('resolve ignores case and one trailing dot', () => {
  fc.assert(fc.property(fc.constantFrom(...NAMES), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.boolean(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), (name, flips, dot, port) => {
    const variant = `${cased(name, flips)}${dot ? '.' : ''}${port === undefined ? '' : `:${port}`}`;
    const plain = `${name}${port === undefined ? '' : `:${port}`}`;
    assert.deepEqual(t.resolve(variant, 9080), t.resolve(plain, 9080));
  }), { numRuns: 500 });
});

test('a port in the authority wins over the default port', () => {
  fc.assert(fc.property(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (name, port, fallback) => {
    const r = t.resolve(`${name}:${port}`, fallback);
    if (r.kind !== 'invalid') assert.equal(r.port, port);
  }), { numRuns: 300 });
});
