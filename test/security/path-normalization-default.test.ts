// MeshConfig's pathNormalization defaults to MERGE_SLASHES, and every consumer applies that one
// default: the sidecar (before any snapshot and with a MeshConfig that leaves the field out), the
// policy compiler, `weft authz check` and `weft analyze`. Under the default a DENY on
// /api/admin stops /api//admin; with BASE set explicitly (Istio's default) it does not, and
// analyze says so.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyze, defaultMeshConfigSpec, type MeshConfigSpec, type StoredResource } from '../../src/config/index.js';
import { stored } from '../../src/config/analyze/testing.js';
import { authzCheck } from '../../src/controlplane/admin/authz-check.js';
import { compilePolicies } from '../../src/policy/index.js';
import { emptyConfig, prepareResources } from '../../src/sidecar/active-config.js';
import type { Workload } from '../../src/registry/index.js';

const DENY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/api/admin"] } }] }]
`;
const mesh = (spec: string) => `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: default }\nspec: ${spec}\n---\n`;
const REVIEWS: Workload = {
  id: 'w1', spiffeId: 'spiffe://cluster.local/ns/default/sa/reviews', leaseExpiresAt: 0, namespace: 'default', services: ['reviews'],
  ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }], labels: { app: 'reviews' }, address: '127.0.0.1', inboundPort: 15006,
};
const workload = { namespace: 'default', labels: { app: 'reviews' }, appPort: 9080 };
const check = (resources: readonly StoredResource[], path: string) =>
  (authzCheck({ to: 'reviews.default', fromPrincipal: 'cluster.local/ns/default/sa/productpage', method: 'GET', path }, resources, [REVIEWS]) as { path: string; workloads: { decision: string }[] });
const meshOf = (resources: readonly StoredResource[]) => (resources.find((r) => r.kind === 'MeshConfig')?.spec as MeshConfigSpec | undefined) ?? defaultMeshConfigSpec();

describe('pathNormalization defaults to MERGE_SLASHES everywhere', () => {
  test('ok/the MeshConfig default, the sidecar before any snapshot and with a MeshConfig that omits it, and the compiler', () => {
    assert.equal(defaultMeshConfigSpec().pathNormalization.normalization, 'MERGE_SLASHES');
    assert.equal(emptyConfig(workload).inbound.normalization, 'MERGE_SLASHES');
    assert.equal(prepareResources(1, stored(mesh('{ rootNamespace: istio-system }') + DENY), workload).inbound.normalization, 'MERGE_SLASHES');
    const compiled = compilePolicies({ mesh: {} as MeshConfigSpec, workload: { namespace: 'default', labels: {} }, resources: [] });
    assert.equal(compiled.pathNormalization, 'MERGE_SLASHES');
  });

  test('fail/weft authz check denies /api//admin under the default, as the sidecar does', () => {
    const resources = stored(DENY);
    const r = check(resources, '/api//admin');
    assert.equal(r.path, '/api/admin');
    assert.deepEqual(r.workloads.map((w) => w.decision), ['deny']);
  });

  test('ok/with BASE set explicitly, /api//admin is not /api/admin, and analyze warns (WA016)', () => {
    const resources = stored(mesh('{ pathNormalization: { normalization: BASE } }') + DENY);
    assert.equal(prepareResources(1, resources, workload).inbound.normalization, 'BASE');
    assert.deepEqual(check(resources, '/api//admin').workloads.map((w) => w.decision), ['allow']);
    const findings = analyze({ resources, mesh: meshOf(resources), trustDomain: 'cluster.local', workloads: undefined });
    assert.deepEqual(findings.filter((f) => f.code === 'WA016').map((f) => f.resource), ['AuthorizationPolicy/default/deny-admin']);
  });

  test('ok/analyze is silent on the same policy under the default', () => {
    const resources = stored(DENY);
    assert.deepEqual(analyze({ resources, mesh: meshOf(resources), trustDomain: 'cluster.local', workloads: undefined }).filter((f) => f.code === 'WA016'), []);
  });
});
