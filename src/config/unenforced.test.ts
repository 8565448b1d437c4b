import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from './generated/types.js';
import { unenforcedFields, UNENFORCED_RULES } from './unenforced.js';
import { parseResources } from './validate.js';

function parse(text: string): Resource {
  const r = parseResources(text, 'u.yaml');
  assert.ok(r.ok);
  return r.value[0]!;
}

test('lists each accepted-but-not-enforced field with its concrete path and reason', () => {
  const vs = parse(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    mirror: {host: b}
  - route: [{destination: {host: a}}]
    retries: {attempts: 3}
    fault: {abort: {httpStatus: 500}}
    corsPolicy: {allowOrigins: [{exact: 'https://x.example'}]}
  tcp:
  - route: [{destination: {host: a}}]
`);
  assert.deepEqual(unenforcedFields(vs), [
    { path: 'spec.tcp', reason: 'TCP routing is not applied yet: the outbound proxy routes HTTP requests; CONNECT tunnels go to the service their target names' },
  ]);
});

test('the HTTP routing and DestinationRule policies the sidecar applies are not reported; what it does not apply is', () => {
  const vs = parse('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: [a], http: [{match: [{uri: {prefix: /x}}], rewrite: {uri: /y}, headers: {request: {set: {x: y}}}, route: [{destination: {host: a, subset: v2}, weight: 100}], timeout: 2s, retries: {attempts: 2}, fault: {delay: {fixedDelay: 1s}}}, {redirect: {uri: /z}}]}\n');
  assert.deepEqual(unenforcedFields(vs), []);
  const dr = parse(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  workloadSelector: {matchLabels: {app: productpage}}
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN, localityLbSetting: {enabled: true}}
    connectionPool: {tcp: {maxConnections: 10}, http: {http2MaxRequests: 5, maxRetries: 2, idleTimeout: 1s}}
    outlierDetection: {consecutive5xxErrors: 3}
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {connectionPool: {http: {http1MaxPendingRequests: 3}}}
`);
  assert.deepEqual(unenforcedFields(dr).map((f) => f.path), [
    'spec.trafficPolicy.tls',
    'spec.trafficPolicy.loadBalancer.localityLbSetting',
    'spec.trafficPolicy.connectionPool.tcp',
    'spec.trafficPolicy.connectionPool.http.idleTimeout',
    'spec.subsets[0].trafficPolicy.connectionPool.http.http1MaxPendingRequests',
  ]);
  const se = parse('apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\nspec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: TLS}], resolution: STATIC, endpoints: [{address: 10.0.0.1}]}\n');
  assert.deepEqual(unenforcedFields(se).map((f) => f.path), ['spec.hosts']);
});

test('conditional entries apply only to the values they name', () => {
  const se = (resolution: string) => parse(`apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e, namespace: default}\nspec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: TLS}], resolution: ${resolution}}\n`);
  assert.deepEqual(unenforcedFields(se('DNS')).map((f) => f.path), ['spec.hosts', 'spec.resolution']);
  assert.deepEqual(unenforcedFields(se('STATIC')).map((f) => f.path), ['spec.hosts']);
  const mesh = (mode: string) => parse(`apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec: {outboundTrafficPolicy: {mode: ${mode}}}\n`);
  assert.deepEqual(unenforcedFields(mesh('REGISTRY_ONLY')), []);
  assert.deepEqual(unenforcedFields(mesh('ALLOW_ANY')), []);
});

test('every rule names a field its kind\'s schema has', async () => {
  const { kindDefinition } = await import('./schemas/index.js');
  for (const rule of UNENFORCED_RULES) {
    const kinds = rule.kind === '*' ? ['AuthorizationPolicy'] : [rule.kind];
    for (const kind of kinds) {
      const schema = kindDefinition(kind)!.schema as { $defs: Record<string, Record<string, unknown>>; properties: Record<string, unknown> };
      let node: Record<string, unknown> | undefined = schema as unknown as Record<string, unknown>;
      for (const part of rule.path.replace(/\[\*\]/g, '').split('.')) {
        const deref = (n: Record<string, unknown> | undefined): Record<string, unknown> | undefined => {
          let cur = n;
          while (cur?.$ref !== undefined) cur = schema.$defs[String(cur.$ref).replace('#/$defs/', '')];
          if (cur?.type === 'array') return deref(cur.items as Record<string, unknown>);
          return cur;
        };
        node = deref(node);
        node = (node?.properties as Record<string, Record<string, unknown>> | undefined)?.[part];
        assert.ok(node !== undefined, `${kind} ${rule.path}: no field ${part}`);
      }
    }
  }
});
