import assert from 'node:assert/strict';
import { test } from 'node:test';
import { key, parseResources, type Resource, type StoredResource } from '../../config/index.js';
import { scopeResources } from './scope.js';

function stored(yaml: string): StoredResource[] {
  const parsed = parseResources(yaml, 'scope.yaml');
  if (!parsed.ok) throw new Error(parsed.issues.map((i) => i.message).join('; '));
  return parsed.value.map((r: Resource, i) => ({ ...r, metadata: { ...r.metadata, resourceVersion: String(i + 1), creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 } }) as StoredResource);
}

const resources = stored(`
apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: default }
spec: { rootNamespace: istio-system }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: mesh-wide, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: root-selected, namespace: istio-system }
spec: { selector: { matchLabels: { app: reviews } }, action: DENY, rules: [{ to: [{ operation: { methods: [DELETE] } }] }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ns-wide, namespace: shop }
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-only, namespace: shop }
spec: { selector: { matchLabels: { app: reviews, version: v2 } }, rules: [{}] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: other-ns, namespace: bank }
spec: { rules: [{}] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: waypoint, namespace: shop }
spec: { targetRefs: [{ kind: Service, group: "", name: reviews }], rules: [{}] }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: shop }
spec: { selector: { matchLabels: { app: productpage } }, jwtRules: [{ issuer: "https://issuer.example" }] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec: { host: reviews, subsets: [{ name: v1, labels: { version: v1 } }] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: private, namespace: bank }
spec: { host: ledger, exportTo: ["."] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: shop }
spec: { hosts: ["shop.example.com"], gateways: [ingress], http: [{ route: [{ destination: { host: productpage } }] }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec: { hosts: [reviews], http: [{ route: [{ destination: { host: reviews, subset: v1 } }] }] }
`);

const keysFor = (namespace: string, labels: Record<string, string>) => scopeResources(resources, { namespace, labels }).map(key).sort();

test('each workload receives exactly the resources that concern it', () => {
  const table: Array<[string, Record<string, string>, string[]]> = [
    ['shop', { app: 'reviews', version: 'v2' }, [
      'AuthorizationPolicy/istio-system/root-selected', 'AuthorizationPolicy/shop/ns-wide', 'AuthorizationPolicy/shop/reviews-only',
      'DestinationRule/shop/reviews', 'MeshConfig/default', 'PeerAuthentication/istio-system/mesh-wide', 'VirtualService/shop/reviews',
    ]],
    ['shop', { app: 'reviews', version: 'v1' }, [
      'AuthorizationPolicy/istio-system/root-selected', 'AuthorizationPolicy/shop/ns-wide',
      'DestinationRule/shop/reviews', 'MeshConfig/default', 'PeerAuthentication/istio-system/mesh-wide', 'VirtualService/shop/reviews',
    ]],
    ['shop', { app: 'productpage' }, [
      'AuthorizationPolicy/shop/ns-wide', 'DestinationRule/shop/reviews', 'MeshConfig/default',
      'PeerAuthentication/istio-system/mesh-wide', 'RequestAuthentication/shop/jwt', 'VirtualService/shop/reviews',
    ]],
    ['bank', { app: 'reviews' }, [
      'AuthorizationPolicy/bank/other-ns', 'AuthorizationPolicy/istio-system/root-selected', 'DestinationRule/bank/private',
      'DestinationRule/shop/reviews', 'MeshConfig/default', 'PeerAuthentication/istio-system/mesh-wide', 'VirtualService/shop/reviews',
    ]],
  ];
  for (const [ns, labels, expected] of table) assert.deepEqual(keysFor(ns, labels), expected, `${ns} ${JSON.stringify(labels)}`);
});

test('another namespace never receives workload-specific policy or a resource exported only to its own namespace', () => {
  const got = keysFor('shop', { app: 'ledger' });
  assert.ok(!got.includes('AuthorizationPolicy/bank/other-ns'));
  assert.ok(!got.includes('DestinationRule/bank/private'));
  assert.ok(!got.includes('AuthorizationPolicy/shop/waypoint'), 'targetRef policies are not for sidecars');
  assert.ok(!got.includes('VirtualService/shop/edge'), 'gateway-bound routes are not for sidecars');
});

test('without a MeshConfig the root namespace is istio-system', () => {
  const withoutMesh = resources.filter((r) => r.kind !== 'MeshConfig');
  const got = scopeResources(withoutMesh, { namespace: 'default', labels: {} }).map(key);
  assert.ok(got.includes('PeerAuthentication/istio-system/mesh-wide'));
});
