import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromYaml, REVIEWS, table } from './testing/fixtures.js';

const SE = fromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: default}
spec:
  hosts: [api.example.com, "*.wild.example.org"]
  addresses: [203.0.113.7]
  ports: [{number: 443, name: https, protocol: TLS}, {number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: private, namespace: other}
spec:
  hosts: [hidden.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: NONE
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: short, namespace: default}
spec:
  hosts: [legacy]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.1.2.3}]
`);

describe('resolve: mesh services', () => {
  const t = table([]);
  for (const name of ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local', 'REVIEWS.Default.', 'reviews.default.svc.cluster.local.']) {
    test(`ok/${name} names reviews.default`, () => {
      const r = t.resolve(`${name}:9080`, 80);
      assert.equal(r.kind, 'service');
      assert.equal((r as { host: string }).host, REVIEWS);
      assert.equal((r as { port: number }).port, 9080);
    });
  }
  test('the default port applies when the authority has none', () => {
    const r = t.resolve('reviews', 9080);
    assert.equal(r.kind, 'service');
    assert.equal((r as { servicePort: { name: string } }).servicePort.name, 'http-9080');
  });
  test('a port the service lacks is a distinct answer with a reason', () => {
    const r = t.resolve('reviews:8080', 80);
    assert.deepEqual(r, { kind: 'unknown-port', host: REVIEWS, port: 8080, reason: 'service reviews.default has no port 8080 (it has 9080)' });
  });
  test('a bare name resolves only in the caller namespace', () => {
    const r = t.resolve('details:80', 80);
    assert.equal(r.kind, 'unregistered');
    assert.equal(t.resolve('details.shop:80', 80).kind, 'service');
  });
});

describe('resolve: ServiceEntry hosts', () => {
  const t = table(SE);
  test('an exact host and its port', () => {
    const r = t.resolve('API.example.com:443', 80);
    assert.equal(r.kind, 'service-entry');
    assert.equal((r as { host: string }).host, 'api.example.com');
    assert.equal((r as { serviceEntry: { resolution: string } }).serviceEntry.resolution, 'DNS');
  });
  test('a port the entry does not declare', () => {
    const r = t.resolve('api.example.com:8443', 80);
    assert.equal(r.kind, 'unknown-port');
    assert.match((r as { reason: string }).reason, /ServiceEntry default\/external declares no port 8443 for api\.example\.com \(it has 443, 80\)/);
  });
  test('a host under a wildcard entry keeps its own name as the key', () => {
    const r = t.resolve('a.wild.example.org:80', 443);
    assert.equal(r.kind, 'service-entry');
    assert.equal((r as { host: string }).host, 'a.wild.example.org');
    assert.equal(t.resolve('wild.example.org:80', 443).kind, 'unregistered');
  });
  test('an entry address as the authority', () => {
    const r = t.resolve('203.0.113.7:443', 443);
    assert.equal(r.kind, 'service-entry');
    assert.equal((r as { host: string }).host, 'api.example.com');
  });
  test('a short host is a name in the entry namespace', () => {
    assert.equal((t.resolve('legacy:8080', 80) as { host: string }).host, 'legacy.default.svc.cluster.local');
    assert.equal((t.resolve('legacy.default:8080', 80) as { host: string }).host, 'legacy.default.svc.cluster.local');
  });
  test('an entry exported only to its namespace is invisible elsewhere', () => {
    assert.equal(t.resolve('hidden.example.com', 80).kind, 'unregistered');
    const inOther = table(SE, { caller: { namespace: 'other', labels: {}, locality: '' } });
    assert.equal(inOther.resolve('hidden.example.com', 80).kind, 'service-entry');
  });
});

describe('resolve: neither', () => {
  test('says whether the name is mesh-shaped and which outbound policy applies', () => {
    const t = table([]);
    assert.deepEqual(t.resolve('nosuch.default:80', 80), { kind: 'unregistered', host: 'nosuch.default', port: 80, meshShaped: true, outboundTrafficPolicy: 'ALLOW_ANY' });
    assert.deepEqual(t.resolve('nosuch.default.svc.cluster.local', 80), { kind: 'unregistered', host: 'nosuch.default.svc.cluster.local', port: 80, meshShaped: true, outboundTrafficPolicy: 'ALLOW_ANY' });
    assert.equal((t.resolve('www.example.com', 80) as { meshShaped: boolean }).meshShaped, false);
    assert.equal((t.resolve('[::1]:80', 80) as { meshShaped: boolean }).meshShaped, false);
    assert.equal(table([], { registryOnly: true }).outboundTrafficPolicy, 'REGISTRY_ONLY');
    assert.equal((table([], { registryOnly: true }).resolve('x.y', 80) as { outboundTrafficPolicy: string }).outboundTrafficPolicy, 'REGISTRY_ONLY');
  });
  test('a malformed authority is invalid, with the reason', () => {
    assert.deepEqual(table([]).resolve('reviews:99999', 80), { kind: 'invalid', reason: 'the port is outside 1-65535' });
  });
});
