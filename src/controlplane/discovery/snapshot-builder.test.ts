import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrozenClock } from '../../lib/clock.js';
import { ServiceRegistry } from '../../registry/index.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { DiscoveryService, type MeshSnapshot } from '../../api/control-plane-api.js';

const workload = { workloadId: 'w1', spiffeId: 'spiffe://td/ns/a/sa/w', namespace: 'a', labels: {} };

test('every snapshot carries the revocation list in full, and a change of it changes the signature (a push follows)', () => {
  const revoked = { version: 0, serials: [] as string[] };
  const builder = new SnapshotBuilder({
    registry: new ServiceRegistry({ trustDomain: 'td', clock: new FrozenClock(0) }),
    trustDomain: 'td',
    trustBundle: () => [],
    resources: () => ({ revision: 1, items: [] }),
    revocations: () => revoked,
  });
  const before = builder.build(workload);
  assert.deepEqual(before.content.revokedSerials, []);
  revoked.version = 1;
  revoked.serials = ['4a4a', '7f7f'];
  const after = builder.build(workload);
  assert.deepEqual(after.content.revokedSerials, ['4a4a', '7f7f']);
  assert.notEqual(after.signature, before.signature);
  assert.equal(builder.build(workload).signature, after.signature, 'unchanged list, unchanged signature');
});

test('a builder without a revocation source sends an empty list', () => {
  const builder = new SnapshotBuilder({ registry: new ServiceRegistry({ trustDomain: 'td' }), trustDomain: 'td', trustBundle: () => [], resources: () => ({ revision: 1, items: [] }) });
  assert.deepEqual(builder.build(workload).content.revokedSerials, []);
});

test('every snapshot carries where the mesh reads tokens from, whichever workload a RequestAuthentication selects', () => {
  const ra = (name: string, version: string, rule: Record<string, unknown>) => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name, namespace: 'other', resourceVersion: version },
    spec: { selector: { matchLabels: { app: 'elsewhere' } }, jwtRules: [{ issuer: 'https://i', ...rule }] },
  });
  const ap = (version: string) => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'other', resourceVersion: version }, spec: {} });
  let state = { revision: 1, items: [ra('jwt', '1', { fromParams: ['Api_Tok'], fromCookies: ['sid'], fromHeaders: [{ name: 'X-Jwt' }] })] as never[] };
  const builder = new SnapshotBuilder({ registry: new ServiceRegistry({ trustDomain: 'td' }), trustDomain: 'td', trustBundle: () => [], resources: () => state });
  const first = builder.build(workload);
  assert.deepEqual([first.content.tokenParams, first.content.tokenCookies, first.content.tokenHeaders], [['api_tok'], ['sid'], ['x-jwt']]);
  assert.deepEqual(first.content.resources, [], 'the resource itself stays out of scope');
  state = { revision: 2, items: [...state.items, ap('2')] as never[] };
  assert.equal(builder.build(workload).signature, first.signature, 'a change that names no new location pushes nothing here');
  state = { revision: 3, items: [ra('jwt', '3', { fromParams: ['api_tok', 'other_tok'] })] as never[] };
  const changed = builder.build(workload);
  assert.notEqual(changed.signature, first.signature);
  assert.deepEqual(changed.content.tokenParams, ['api_tok', 'other_tok']);
});

test('endpoints carry locality and health, ports their target port and appProtocol, through the wire encoding', () => {
  const registry = new ServiceRegistry({ trustDomain: 'td' });
  const id = 'spiffe://td/ns/a/sa/web';
  const base = { namespace: 'a', services: ['web'], labels: {}, address: '127.0.0.1' };
  registry.register({ ...base, inboundPort: 1, locality: 'eu/eu-1a', ports: [{ name: 'http', port: 80, protocol: '', targetPort: 8080 }, { name: 'api', port: 90, protocol: '', appProtocol: 'grpc' }] }, id);
  const sick = registry.register({ ...base, inboundPort: 2, healthy: false, ports: [{ name: 'http', port: 80, protocol: '', targetPort: 8080 }] }, id);
  const builder = new SnapshotBuilder({ registry, trustDomain: 'td', trustBundle: () => [], resources: () => ({ revision: 1, items: [] }) });
  const built = builder.build(workload);
  const decoded = (DiscoveryService.service as unknown as Record<string, { responseDeserialize: (b: Buffer) => MeshSnapshot }>).Subscribe!.responseDeserialize(built.sharedEncoding!);
  const [svc] = decoded.services;
  assert.deepEqual(
    svc?.ports.map((p) => [p.name, p.port, p.protocol, p.targetPort, p.appProtocol]),
    [['http', 80, 'HTTP', 8080, ''], ['api', 90, 'GRPC', 0, 'grpc']],
  );
  assert.deepEqual(svc?.endpoints.map((e) => [e.port, e.locality, e.healthy]).sort(), [[1, 'eu/eu-1a/', true], [2, '', false]]);
  // A recovery is a change of the services: a push follows.
  registry.keepAlive(sick.id, id, true);
  assert.notEqual(builder.build(workload).signature, built.signature);
});
