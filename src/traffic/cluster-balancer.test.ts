import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { TrafficPolicy } from '../config/generated/types.js';
import { ClusterBalancer, type Pick } from './cluster-balancer.js';
import { resolvePolicy, resolveOutlierDetection } from './cluster-policy.js';
import type { HashInput } from './consistent-hash.js';
import { OutlierDetector } from './outlier.js';
import { CALLER, endpoint, endpoints, seededRandom } from './testing/cluster-fixtures.js';
import type { EndpointView } from './types.js';

function balancer(policy: TrafficPolicy | undefined, extra: { seed?: number; ejections?: OutlierDetector } = {}): ClusterBalancer {
  return new ClusterBalancer({ policy: resolvePolicy(policy, []), caller: CALLER, random: seededRandom(extra.seed ?? 1), ...(extra.ejections === undefined ? {} : { ejections: extra.ejections }) });
}

function chosen(p: Pick): EndpointView {
  assert.equal(p.kind, 'endpoint');
  return (p as Extract<Pick, { kind: 'endpoint' }>).endpoint;
}

const RR: TrafficPolicy = { loadBalancer: { simple: 'ROUND_ROBIN' } };
const RR_OD: TrafficPolicy = { ...RR, outlierDetection: {} };

describe('ClusterBalancer', () => {
  test('PASSTHROUGH answers "use the original destination"', () => {
    assert.deepEqual(balancer({ loadBalancer: { simple: 'PASSTHROUGH' } }).pick(endpoints(2), { nowMs: 0 }), { kind: 'passthrough' });
  });

  test('no endpoints: "no-endpoints"', () => {
    assert.deepEqual(balancer(RR).pick([], { nowMs: 0 }), { kind: 'none', reason: 'no-endpoints' });
  });

  test('with outlier detection (panic off) unhealthy endpoints are never picked; none healthy is "no healthy upstream"', () => {
    const eps = endpoints(4, (i) => ({ healthy: i === 2 }));
    const b = balancer(RR_OD);
    for (let i = 0; i < 8; i++) assert.equal(chosen(b.pick(eps, { nowMs: 0 })), eps[2]);
    const down = endpoints(3, () => ({ healthy: false }));
    assert.deepEqual(b.pick(down, { nowMs: 0 }), { kind: 'none', reason: 'no-healthy-upstream' });
  });

  test('without outlier detection Envoy\'s 50% panic threshold applies: mostly unhealthy means any endpoint', () => {
    const eps = endpoints(4, (i) => ({ healthy: i === 0 }));
    const b = balancer(RR);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const p = b.pick(eps, { nowMs: 0 });
      assert.ok(p.kind === 'endpoint' && p.panic);
      seen.add(chosen(p).key);
    }
    assert.equal(seen.size, 4);
    // Half healthy is not below 50%: only the healthy ones.
    const half = endpoints(4, (i) => ({ healthy: i < 2 }));
    for (let i = 0; i < 8; i++) assert.ok(chosen(b.pick(half, { nowMs: 0 })).healthy);
  });

  test('minHealthPercent is the panic threshold', () => {
    const eps = endpoints(4, (i) => ({ healthy: i === 0 }));
    const b = balancer({ ...RR, outlierDetection: { minHealthPercent: 30 } });
    const p = b.pick(eps, { nowMs: 0 });
    assert.ok(p.kind === 'endpoint' && p.panic);
  });

  test('ejected endpoints are passed over until their ejection ends', () => {
    const eps = endpoints(3);
    const od = new OutlierDetector(resolveOutlierDetection({ consecutive5xxErrors: 1, maxEjectionPercent: 100 })!);
    od.syncHosts(eps.map((e) => e.key));
    const b = balancer(RR_OD, { ejections: od });
    assert.equal(b.pick(eps, { nowMs: 0 }).kind, 'endpoint'); // layout built before the ejection
    od.record(eps[1]!.key, '5xx', 1000);
    for (let i = 0; i < 6; i++) assert.notEqual(chosen(b.pick(eps, { nowMs: 1000 })), eps[1]);
    od.tick(31_000);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(chosen(b.pick(eps, { nowMs: 31_000 })).key);
    assert.ok(seen.has(eps[1]!.key));
  });

  test('a retry passes over the hosts already tried', () => {
    const eps = endpoints(3);
    const tried = new Set([eps[0]!.key, eps[1]!.key]);
    const b = balancer({ loadBalancer: { simple: 'RANDOM' } });
    for (let i = 0; i < 10; i++) assert.equal(chosen(b.pick(eps, { nowMs: 0, avoid: { avoids: (e) => tried.has(e.key) } })), eps[2]);
  });

  test('a retry avoiding every endpoint of one priority is redrawn into the next, as Envoy\'s host selection retries', () => {
    // P0 (same subzone) half healthy takes 70% of the load, P1 (same zone) the rest.
    const eps = [endpoint(0, { locality: 'eu/eu-a/r1' }), endpoint(1, { locality: 'eu/eu-a/r1', healthy: false }), endpoint(2, { locality: 'eu/eu-a/r2' })];
    const b = balancer(RR_OD, { seed: 5 });
    assert.deepEqual(b.describe(eps, 0).load, [70, 30]);
    const avoid = { avoids: (e: EndpointView) => e === eps[0] };
    let next = 0;
    for (let i = 0; i < 1000; i++) if (chosen(b.pick(eps, { nowMs: 0, avoid })) === eps[2]) next++;
    // Five draws all landing on P0 happen 0.7^5 ≈ 17% of the time; without redraws it would be 70%.
    assert.ok(next > 700, `the other priority got ${next} of 1000 retries`);
  });

  test('locality failover: the caller\'s subzone takes everything until it is unhealthy, then the zone', () => {
    const eps = [endpoint(0, { locality: 'eu/eu-a/r1' }), endpoint(1, { locality: 'eu/eu-a/r2' }), endpoint(2, { locality: 'us/us-a/r1' })];
    const b = balancer(RR_OD);
    for (let i = 0; i < 5; i++) assert.equal(chosen(b.pick(eps, { nowMs: 0 })), eps[0]);
    const failed = [{ ...eps[0]!, healthy: false }, eps[1]!, eps[2]!];
    for (let i = 0; i < 5; i++) assert.equal(chosen(b.pick(failed, { nowMs: 0 })), eps[1]);
    assert.deepEqual(b.describe(failed, 0).load, [0, 100, 0]);
    // Without outlier detection Istio sets no priorities: every locality shares the load.
    const flat = balancer(RR);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(chosen(flat.pick(eps, { nowMs: 0 })).key);
    assert.equal(seen.size, 3);
  });

  test('locality distribute: traffic follows the weights', () => {
    const eps = [endpoint(0, { locality: 'eu/eu-a/r1' }), endpoint(1, { locality: 'us/us-a/r1' }), endpoint(2, { locality: 'ap/ap-a/r1' })];
    const b = balancer({ loadBalancer: { simple: 'ROUND_ROBIN', localityLbSetting: { distribute: [{ from: 'eu/*', to: { 'eu/*': 80, 'us/*': 20 } }] } } });
    const counts = [0, 0, 0];
    for (let i = 0; i < 5000; i++) counts[eps.indexOf(chosen(b.pick(eps, { nowMs: 0 })))]!++;
    assert.equal(counts[2], 0, 'a locality no rule names gets nothing');
    assert.ok(counts[0]! > 3600 && counts[0]! < 4400, `eu got ${counts[0]} of 5000`);
  });

  test('consistent hash by cookie: sticky, and a missing cookie comes back to be set', () => {
    const eps = endpoints(5);
    const b = balancer({ loadBalancer: { consistentHash: { httpCookie: { name: 'sticky', ttl: '60s' } } } });
    const req = (c?: string): HashInput => ({ header: () => undefined, cookie: (n) => (n === 'sticky' ? c : undefined), query: () => undefined, sourceIp: '10.0.0.9', downstreamAddress: '10.0.0.9:5555' });
    const first = b.pick(eps, { nowMs: 0, request: req() });
    assert.ok(first.kind === 'endpoint' && first.cookie !== undefined);
    for (let i = 0; i < 5; i++) {
      const again = b.pick(eps, { nowMs: 0, request: req(first.cookie.value) });
      assert.ok(again.kind === 'endpoint' && again.cookie === undefined);
      assert.equal(again.endpoint, first.endpoint);
    }
  });

  test('property: with panic off, no pick is ever unhealthy or ejected, and some endpoint comes back while one is usable', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ healthy: fc.boolean(), locality: fc.constantFrom('', 'eu/eu-a/r1', 'eu/eu-b/r1', 'us/us-a/r1') }), { maxLength: 12 }),
        fc.constantFrom<TrafficPolicy['loadBalancer']>({ simple: 'ROUND_ROBIN' }, { simple: 'RANDOM' }, { simple: 'LEAST_REQUEST' }, { consistentHash: { useSourceIp: true } }, { consistentHash: { httpHeaderName: 'x', maglev: { tableSize: 251 } } }),
        fc.integer(),
        (states, loadBalancer, seed) => {
          const eps = states.map((s, i) => endpoint(i, s));
          const b = balancer({ loadBalancer, outlierDetection: {} }, { seed });
          for (let i = 0; i < 10; i++) {
            const p = b.pick(eps, { nowMs: 0, request: { header: () => `k${i}`, cookie: () => undefined, query: () => undefined, sourceIp: `10.0.0.${i}`, downstreamAddress: '' } });
            if (eps.length === 0) assert.deepEqual(p, { kind: 'none', reason: 'no-endpoints' });
            else if (eps.some((e) => e.healthy)) assert.ok(chosen(p).healthy && eps.includes(chosen(p)));
            else assert.deepEqual(p, { kind: 'none', reason: 'no-healthy-upstream' });
          }
        },
      ),
      { seed: 20261207, numRuns: 300 },
    );
  });
});
