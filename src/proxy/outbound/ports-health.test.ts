import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProxyError } from '../errors.js';
import type { Endpoint, ServiceEntry } from '../types.js';
import { authorityPort, checkServicePort, parseTarget, RoundRobin } from './route.js';

const ep = (port: number, healthy?: boolean): Endpoint => ({ address: '127.0.0.1', port, spiffeId: 'spiffe://td/ns/a/sa/b', labels: {}, ...(healthy === undefined ? {} : { healthy }) });
const entry = (endpoints: Endpoint[], ports?: ServiceEntry['ports']): ServiceEntry => ({ endpoints, identities: new Set<string>(), ...(ports ? { ports } : {}) });

describe('balancing skips unhealthy endpoints', () => {
  test('an unhealthy endpoint is never picked; absent health is healthy', () => {
    const rr = new RoundRobin();
    const e = entry([ep(1), ep(2, false), ep(3, true)]);
    assert.deepEqual(Array.from({ length: 6 }, () => rr.pick(e)!.port), [1, 3, 1, 3, 1, 3]);
  });

  test('not even when every healthy one is to be avoided', () => {
    const rr = new RoundRobin();
    const e = entry([ep(1, false), ep(2), ep(3, false)]);
    assert.equal(rr.pick(e, { avoids: () => true })!.port, 2);
  });

  test('all unhealthy, or the only one unhealthy: nothing', () => {
    assert.equal(new RoundRobin().pick(entry([ep(1, false)])), undefined);
    assert.equal(new RoundRobin().pick(entry([ep(1, false), ep(2, false)])), undefined);
    assert.equal(new RoundRobin().pick(entry([ep(1, false), ep(2, false)]), { avoids: () => false }), undefined);
  });

  test('property: a pick is always a healthy endpoint, and one exists exactly when some endpoint is healthy', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.boolean(), { nil: undefined }), { maxLength: 8 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.nat(20), (health, avoid, rounds) => {
        const rr = new RoundRobin();
        const e = entry(health.map((h, i) => ep(i + 1, h)));
        const anyHealthy = health.some((h) => h !== false);
        for (let i = 0; i <= rounds; i++) {
          const picked = rr.pick(e, { avoids: (x) => avoid[x.port - 1]! });
          assert.equal(picked !== undefined, anyHealthy);
          if (picked) assert.notEqual(picked.healthy, false);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('service ports on the calling side', () => {
  test('authorityPort reads the port of host:port and [v6]:port, and nothing else', () => {
    assert.equal(authorityPort('details.default:9080'), 9080);
    assert.equal(authorityPort('[::1]:80'), 80);
    assert.equal(authorityPort('[::1]'), undefined);
    assert.equal(authorityPort('details.default'), undefined);
    assert.equal(authorityPort('details.default:'), undefined);
    assert.equal(authorityPort('details.default:12x'), undefined);
  });

  const target = (authority: string) => parseTarget('/', authority, '.svc.cluster.local');
  const ports = [{ name: 'http', port: 9080, protocol: 'HTTP' }, { name: 'grpc-api', port: 9090, protocol: 'GRPC' }];

  test('a declared port, or none named, passes', () => {
    checkServicePort(entry([ep(1)], ports), target('details.default:9080'));
    checkServicePort(entry([ep(1)], ports), target('details.default:9090'));
    checkServicePort(entry([ep(1)], ports), target('details.default'));
  });

  test('without a port list (an older control plane, a test directory) any port passes', () => {
    checkServicePort(entry([ep(1)]), target('details.default:1'));
    checkServicePort(entry([ep(1)], []), target('details.default:1'));
  });

  test('fail/a port the service does not have is refused, naming the ports it has', () => {
    assert.throws(
      () => checkServicePort(entry([ep(1)], ports), target('details.default:8080')),
      (err: unknown) => err instanceof ProxyError && err.code === 'WEFT_PROXY_UNKNOWN_PORT' && err.reason === 'service "details.default" has no port 8080; its ports: 9080 (http), 9090 (grpc-api)',
    );
  });
});
