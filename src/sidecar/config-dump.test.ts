import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configDump } from './config-dump.js';

const input = {
  workload: { service: 'productpage', namespace: 'default', servicePort: 9080 },
  app: { host: '127.0.0.1', port: 3000 },
  ports: { inbound: 15006, outbound: 15001, admin: 15020 },
  hosts: { inbound: '127.0.0.1', outbound: '127.0.0.1', admin: '127.0.0.1' },
  acceptsPlaintext: false,
  services: [
    { name: 'reviews', namespace: 'default', ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }], identities: ['spiffe://td/ns/default/sa/reviews'], endpoints: [
      { address: '127.0.0.1', port: 16001, spiffeId: 'spiffe://td/ns/default/sa/reviews', labels: { version: 'v1' }, workloadId: 'w1' },
      { address: '127.0.0.1', port: 16002, spiffeId: 'spiffe://td/ns/default/sa/reviews', labels: { version: 'v2' }, workloadId: 'w2' },
    ] },
    { name: 'db', namespace: 'data', ports: [{ name: 'tcp', port: 5432, protocol: 'TCP' }], identities: ['spiffe://td/ns/data/sa/db'], endpoints: [] },
  ],
};

test('listeners, routes, clusters and endpoints named as Envoy names them', () => {
  const d = configDump(input);
  assert.deepEqual(d.listeners.map((l) => [l.name, l.direction]), [['inbound|15006', 'inbound'], ['outbound|15001', 'outbound'], ['admin|15020', 'admin']]);
  assert.deepEqual(d.clusters.map((c) => [c.name, c.endpoints]), [['inbound|9080||', 1], ['outbound|5432||db.data.svc.cluster.local', 0], ['outbound|9080||reviews.default.svc.cluster.local', 2]]);
  const reviews = d.routes.find((r) => r.cluster === 'outbound|9080||reviews.default.svc.cluster.local')!;
  assert.deepEqual(reviews.domains, ['reviews.default:9080', 'reviews.default.svc.cluster.local:9080', 'reviews:9080'], 'the short name only within the namespace');
  assert.deepEqual(d.routes.find((r) => r.name === 'db.data:5432')!.domains, ['db.data:5432', 'db.data.svc.cluster.local:5432']);
  assert.deepEqual(d.endpoints.filter((e) => e.cluster.includes('reviews')).map((e) => e.address), ['127.0.0.1:16001', '127.0.0.1:16002']);
  assert.equal(d.truncated, false);
});

test('a sidecar without outbound or admin listeners lists only what it has', () => {
  const d = configDump({ ...input, ports: { inbound: 1 }, services: [] });
  assert.deepEqual(d.listeners.map((l) => l.direction), ['inbound']);
  assert.equal(d.routes.length, 0);
});
