import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { isWeftError } from '../lib/errors.js';
import { ServiceRegistry, type Registration } from './service-registry.js';

const TD = 'cluster.local';
const id = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;
const reg = (over: Partial<Registration> = {}): Registration => ({
  namespace: 'default',
  services: ['details'],
  ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }],
  labels: { app: 'details', version: 'v1' },
  address: '127.0.0.1',
  inboundPort: 15006,
  ...over,
});

describe('ServiceRegistry', () => {
  test('a registered workload appears as an endpoint of its service with the service identity', () => {
    const r = new ServiceRegistry({ trustDomain: TD, clock: new FrozenClock() });
    const w = r.register(reg(), id('default', 'details'));
    const [svc] = r.services();
    assert.equal(svc?.name, 'details');
    assert.deepEqual(svc?.identities, [id('default', 'details')]);
    assert.deepEqual(svc?.endpoints.map((e) => [e.workloadId, e.address, e.port, e.spiffeId]), [[w.id, '127.0.0.1', 15006, id('default', 'details')]]);
  });

  test('two replicas are two endpoints of one service', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    r.register(reg({ inboundPort: 1001 }), id('default', 'details'));
    r.register(reg({ inboundPort: 1002 }), id('default', 'details'));
    assert.equal(r.services()[0]?.endpoints.length, 2);
  });

  test('re-registering the same identity and address replaces the old registration', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    r.register(reg(), id('default', 'details'));
    r.register(reg({ labels: { version: 'v2' } }), id('default', 'details'));
    assert.deepEqual(r.services()[0]?.endpoints.map((e) => e.labels), [{ version: 'v2' }]);
  });

  test('fail/ an identity that is not the service identity cannot register for the service (secure naming)', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    const changes: number[] = [];
    r.onChange(() => changes.push(r.version));
    assert.throws(() => r.register(reg(), id('default', 'rogue')), (e) => isWeftError(e, 'WEFT_REGISTRATION_FORBIDDEN') && /secure naming/.test(e.message));
    assert.throws(() => r.register(reg({ namespace: 'other' }), id('default', 'details')), (e) => isWeftError(e, 'WEFT_REGISTRATION_FORBIDDEN'));
    assert.throws(() => r.register(reg(), `spiffe://other.td/ns/default/sa/details`), (e) => isWeftError(e, 'WEFT_REGISTRATION_FORBIDDEN'));
    assert.deepEqual([r.services(), changes], [[], []]);
  });

  test('fail/ malformed registrations are refused naming the field', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    const cases: [Partial<Registration>, RegExp][] = [
      [{ namespace: 'Bad_NS' }, /namespace/],
      [{ services: [] }, /services/],
      [{ services: ['details', 'details'] }, /twice/],
      [{ ports: [{ name: 'x', port: 70000, protocol: 'HTTP' }] }, /ports\[0\]\.port/],
      [{ ports: [{ name: 'x', port: 80, protocol: 'SMTP' as 'HTTP' }] }, /ports\[0\]\.protocol/],
      [{ labels: { 'bad key!': 'x' } }, /label key/],
      [{ labels: { app: 'has space' } }, /labels\.app/],
      [{ address: 'example.com' }, /address/],
      [{ inboundPort: 0 }, /inboundPort/],
    ];
    for (const [over, message] of cases) {
      assert.throws(() => r.register(reg(over), id('default', 'details')), (e) => isWeftError(e, 'WEFT_REGISTRATION_INVALID') && message.test(e.message), String(message));
    }
  });

  test('a workload whose lease runs out leaves at expire(); keepAlive extends the lease', () => {
    const clock = new FrozenClock();
    const r = new ServiceRegistry({ trustDomain: TD, clock, leaseMs: 10_000 });
    const a = r.register(reg({ inboundPort: 1 }), id('default', 'details'));
    r.register(reg({ inboundPort: 2 }), id('default', 'details'));
    clock.advance(6_000);
    r.keepAlive(a.id, id('default', 'details'));
    clock.advance(6_000);
    assert.equal(r.expire(), 1);
    assert.deepEqual(r.workloads().map((w) => w.id), [a.id]);
  });

  test('fail/ keepAlive and deregister need the workload\'s own identity', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    const w = r.register(reg(), id('default', 'details'));
    assert.throws(() => r.keepAlive(w.id, id('default', 'other')), (e) => isWeftError(e, 'WEFT_WORKLOAD_NOT_FOUND'));
    assert.throws(() => r.deregister('nope', id('default', 'details')), (e) => isWeftError(e, 'WEFT_WORKLOAD_NOT_FOUND'));
    r.deregister(w.id, id('default', 'details'));
    assert.deepEqual(r.services(), []);
  });

  test('every change raises the version and notifies listeners', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    let calls = 0;
    const off = r.onChange(() => calls++);
    const v0 = r.version;
    const w = r.register(reg(), id('default', 'details'));
    r.deregister(w.id, id('default', 'details'));
    off();
    r.register(reg(), id('default', 'details'));
    assert.equal(calls, 2);
    assert.equal(r.version, v0 + 3);
  });

  test('restore() gives every valid saved registration a fresh lease and drops invalid ones', () => {
    const clock = new FrozenClock();
    const before = new ServiceRegistry({ trustDomain: TD, clock, leaseMs: 10_000 });
    const lapsed = before.register(reg({ inboundPort: 1 }), id('default', 'details'));
    clock.advance(5_000);
    const fresh = before.register(reg({ inboundPort: 2 }), id('default', 'details'));
    const saved = JSON.parse(JSON.stringify(before.workloads())) as ReturnType<ServiceRegistry['workloads']>;
    const tampered = { ...fresh, id: 'forged', spiffeId: id('default', 'rogue') };
    const odd = [null, 7, { id: 3 }, { ...fresh, id: 'x', services: 'details' }] as unknown as typeof saved;
    // The outage outlasts both saved leases: their sidecars could not renew meanwhile.
    clock.advance(60_000);
    const after = new ServiceRegistry({ trustDomain: TD, clock, leaseMs: 10_000 });
    assert.equal(after.restore([...saved, tampered, ...odd], { graceMs: 4_000 }), 2);
    assert.deepEqual(after.workloads().map((w) => w.id).sort(), [lapsed.id, fresh.id].sort());
    for (const w of after.workloads()) assert.equal(w.leaseExpiresAt, clock.now() + 14_000);
    clock.advance(13_999);
    assert.equal(after.expire(), 0);
    // The restored workload keeps its id, so its sidecar's keep-alives still find it.
    after.keepAlive(fresh.id, id('default', 'details'));
    clock.advance(1);
    assert.equal(after.expire(), 1);
    assert.deepEqual(after.workloads().map((w) => w.id), [fresh.id]);
  });
});

describe('ServiceRegistry limits', () => {
  const many = (n: number, width: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${'p'.repeat(200)}.io/${String(i).padStart(width, 'k')}`, 'v'.repeat(63)]));

  test('fail/an identity holds at most --max-registrations-per-identity registrations; replacing its own does not count', () => {
    const r = new ServiceRegistry({ trustDomain: TD, limits: { maxRegistrationsPerIdentity: 3 } });
    for (const port of [1, 2, 3]) r.register(reg({ inboundPort: port }), id('default', 'details'));
    r.register(reg({ inboundPort: 3, labels: { app: 'details', version: 'v2' } }), id('default', 'details'));
    assert.throws(
      () => r.register(reg({ inboundPort: 4 }), id('default', 'details')),
      (err: Error) => isWeftError(err, 'WEFT_REGISTRATION_LIMIT') && /already holds 3 registrations.*--max-registrations-per-identity 3/.test(err.message),
    );
    assert.equal(r.workloads().length, 3);
    // Another identity has its own budget.
    r.register(reg({ services: ['ratings'], inboundPort: 4 }), id('default', 'ratings'));
  });

  test('fail/an identity adds at most --max-endpoint-bytes-per-identity to each snapshot', () => {
    const r = new ServiceRegistry({ trustDomain: TD, limits: { maxBytesPerIdentity: 50_000 } });
    const big = many(64, 60); // 64 labels of the longest shapes: about 21 KB
    r.register(reg({ inboundPort: 1, labels: big }), id('default', 'details'));
    r.register(reg({ inboundPort: 2, labels: big }), id('default', 'details'));
    const v = r.version;
    assert.throws(
      () => r.register(reg({ inboundPort: 3, labels: big }), id('default', 'details')),
      (err: Error) => isWeftError(err, 'WEFT_REGISTRATION_TOO_LARGE') && /at most 50000 \(--max-endpoint-bytes-per-identity\)/.test(err.message),
    );
    assert.equal(r.version, v, 'a refused registration changes nothing');
    // Small registrations still fit beside them.
    r.register(reg({ inboundPort: 3 }), id('default', 'details'));
  });

  test('fail/oversized shapes of the other fields are refused', () => {
    const r = new ServiceRegistry({ trustDomain: TD });
    const shapes: [Partial<Registration>, RegExp][] = [
      [{ ports: Array.from({ length: 65 }, (_, i) => ({ name: 'http', port: i + 1, protocol: 'HTTP' as const })) }, /65 ports; a workload has at most 64/],
      [{ ports: [{ name: 'x'.repeat(100_000), port: 1, protocol: 'HTTP' }] }, /ports\[0\]\.name: .* is not empty or a DNS label/],
      [{ labels: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 'v'.repeat(63)])) }, /20000 labels; a workload has at most 64/],
    ];
    for (const [over, message] of shapes) {
      assert.throws(() => r.register(reg(over), id('default', 'details')), (err: Error) => isWeftError(err, 'WEFT_REGISTRATION_INVALID') && message.test(err.message) && err.message.length < 400);
    }
    assert.equal(r.workloads().length, 0);
  });

  test('restore() keeps an identity within its limits too', () => {
    const clock = new FrozenClock();
    const before = new ServiceRegistry({ trustDomain: TD, clock });
    for (const port of [1, 2, 3]) before.register(reg({ inboundPort: port }), id('default', 'details'));
    const after = new ServiceRegistry({ trustDomain: TD, clock, limits: { maxRegistrationsPerIdentity: 2 } });
    assert.equal(after.restore(before.workloads()), 2);
  });
});
