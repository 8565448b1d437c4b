import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceMessage } from '../api/control-plane-api.js';
import { defaultMeshConfigSpec } from '../config/index.js';
import { clusterName } from '../traffic/index.js';
import { fromYaml } from '../traffic/testing/fixtures.js';
import { serviceViews, TrafficCompiler, trafficStats } from './traffic-config.js';

const REVIEWS: ServiceMessage = {
  name: 'reviews',
  namespace: 'default',
  ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }, { name: 'odd', port: 9090, protocol: 'SOMETHING' }],
  endpoints: [
    { address: '10.0.0.1', port: 15006, spiffeId: 'spiffe://cluster.local/ns/default/sa/reviews', labels: { version: 'v1' }, workloadId: 'a' },
    { address: 'fd00::1', port: 15006, spiffeId: 'spiffe://cluster.local/ns/default/sa/reviews', labels: { version: 'v2' }, workloadId: 'b' },
  ],
  identities: ['spiffe://cluster.local/ns/default/sa/reviews'],
};

const logger = () => {
  const lines: { event: string; fields: Record<string, unknown> }[] = [];
  return { lines, log: (_l: string, event: string, fields: Record<string, unknown> = {}) => void lines.push({ event, fields }) };
};

describe('serviceViews', () => {
  test('ports keep a known protocol (lowercased) and drop an unknown one; endpoint keys match the session pool; healthy, locality unknown', () => {
    const [v] = serviceViews([REVIEWS]);
    assert.deepEqual(v!.ports, [{ name: 'http', port: 9080, protocol: 'http' }, { name: 'odd', port: 9090 }]);
    assert.deepEqual(v!.endpoints.map((e) => [e.key, e.healthy, e.locality]), [['10.0.0.1:15006', true, ''], ['[fd00::1]:15006', true, '']]);
  });
});

describe('TrafficCompiler', () => {
  const yaml = (simple: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy: { loadBalancer: { simple: ${simple} } }
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v1 } }, { destination: { host: nowhere.example.com } }]
`;

  test('compiles routes and clusters for the workload, logs each issue once per snapshot, indexes services by FQDN', () => {
    const log = logger();
    const c = new TrafficCompiler({ namespace: 'default', labels: { app: 'productpage' } }, log);
    const cfg = c.compile({ version: 7, mesh: defaultMeshConfigSpec(), resources: fromYaml(yaml('ROUND_ROBIN')), services: serviceViews([REVIEWS]) });
    assert.equal(cfg.services.get('reviews.default.svc.cluster.local')?.name, 'reviews');
    assert.equal(cfg.routes.resolve('reviews.default:9080', 80).kind, 'service');
    const issues = log.lines.filter((l) => l.event === 'traffic.route.issue');
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.fields.version, 7);
    assert.match(String(issues[0]!.fields.message), /nowhere\.example\.com/);
  });

  test('cluster state survives a snapshot with the same policy and is rebuilt when the policy changes', () => {
    const c = new TrafficCompiler({ namespace: 'default', labels: {} }, logger());
    const services = serviceViews([REVIEWS]);
    const state = (simple: string) => {
      const cfg = c.compile({ version: 1, mesh: defaultMeshConfigSpec(), resources: fromYaml(yaml(simple)), services });
      const host = 'reviews.default.svc.cluster.local';
      return cfg.registry.cluster(clusterName(host, 'v1', 9080), cfg.clusters.policyFor(host, 'v1', 9080), 0);
    };
    const a = state('ROUND_ROBIN');
    assert.equal(state('ROUND_ROBIN').balancer, a.balancer);
    assert.notEqual(state('RANDOM').balancer, a.balancer);
  });

  test('trafficStats totals the clusters\' ejections and breaker overflows, with every name present before any configuration', () => {
    const empty = trafficStats(undefined);
    assert.ok(Object.values(empty).every((v) => v === 0));
    const c = new TrafficCompiler({ namespace: 'default', labels: {} }, logger());
    const cfg = c.compile({ version: 1, mesh: defaultMeshConfigSpec(), resources: fromYaml(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec: { host: reviews, trafficPolicy: { connectionPool: { http: { http2MaxRequests: 1 } } } }
`), services: serviceViews([REVIEWS]) });
    const host = 'reviews.default.svc.cluster.local';
    const st = cfg.registry.cluster(clusterName(host, undefined, 9080), cfg.clusters.policyFor(host, undefined, 9080), 0);
    assert.equal(st.breaker.tryAcquire('request'), 'ok');
    assert.equal(st.breaker.tryAcquire('request'), 'overflow');
    const s = trafficStats(cfg);
    assert.deepEqual(Object.keys(s), Object.keys(empty));
    assert.equal(s.traffic_clusters, 1);
    assert.equal(s.traffic_breaker_request_overflows_total, 1);
  });
});
