import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, run } from '../testing.js';

const pa = (name: string, namespace: string, spec: string) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec.trim().split('\n').map((l) => `  ${l}`).join('\n')}\n`;
const meshConfig = (mode: string) => `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  mtls: {mode: ${mode}}\n`;

describe('WA002: PERMISSIVE or DISABLE in force', () => {
  test('fail/MeshConfig PERMISSIVE with no mesh-level PeerAuthentication', () => {
    const f = only(run(meshConfig('PERMISSIVE')), 'WA002');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.resource, 'MeshConfig/default');
    assert.equal(f[0]!.path, 'spec.mtls.mode');
    assert.match(f[0]!.message, /PERMISSIVE/);
  });

  test('ok/MeshConfig PERMISSIVE overridden by a mesh-wide STRICT PeerAuthentication; STRICT everywhere', () => {
    assert.deepEqual(only(run(docs(meshConfig('PERMISSIVE'), pa('default', 'istio-system', 'mtls: {mode: STRICT}'))), 'WA002'), []);
    assert.deepEqual(only(run(docs(meshConfig('STRICT'), pa('default', 'bookinfo', 'mtls: {mode: STRICT}'))), 'WA002'), []);
  });

  test('ok/the default MeshConfig (STRICT in weft) with no PeerAuthentication', () => {
    assert.deepEqual(only(run(''), 'WA002'), []);
  });

  test('fail/a namespace PERMISSIVE and a workload port DISABLE, each at its own field', () => {
    const f = only(run(docs(
      pa('default', 'bookinfo', 'mtls: {mode: PERMISSIVE}'),
      pa('reviews', 'bookinfo', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}\nportLevelMtls:\n  "9080": {mode: DISABLE}'),
    )), 'WA002');
    assert.deepEqual(f.map((x) => `${x.resource} ${x.path}`), ['PeerAuthentication/bookinfo/default spec.mtls.mode', 'PeerAuthentication/bookinfo/reviews spec.portLevelMtls["9080"].mode']);
    assert.match(f[0]!.message, /every workload of namespace bookinfo/);
    assert.match(f[1]!.message, /only plaintext/);
  });

  test('ok/UNSET inherits and is not reported; a PERMISSIVE policy that is ignored is not in force', () => {
    const f = run(docs(
      pa('old', 'bookinfo', 'mtls: {mode: STRICT}'),
      pa('newer', 'bookinfo', 'mtls: {mode: PERMISSIVE}'),
      pa('reviews', 'bookinfo', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: UNSET}'),
    ));
    assert.deepEqual(only(f, 'WA002'), []);
    assert.deepEqual(only(f, 'WA012').map((x) => x.resource), ['PeerAuthentication/bookinfo/newer']);
  });
});

describe('WA012: a PeerAuthentication that never takes effect', () => {
  test('fail/a selector in the root namespace', () => {
    const f = only(run(pa('reviews', 'istio-system', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}')), 'WA012');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /selector in the root namespace is ignored/);
    assert.deepEqual(only(run(pa('reviews', 'istio-system', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}')), 'WA001'), [], 'not also WA001');
  });

  test('fail/two mesh-level policies: the newer is ignored, and its PERMISSIVE is not in force', () => {
    const f = run(docs(pa('strict', 'istio-system', 'mtls: {mode: STRICT}'), pa('permissive', 'istio-system', 'mtls: {mode: PERMISSIVE}')));
    assert.deepEqual(only(f, 'WA012').map((x) => x.resource), ['PeerAuthentication/istio-system/permissive']);
    assert.match(only(f, 'WA012')[0]!.message, /PeerAuthentication\/istio-system\/strict is older/);
    assert.deepEqual(only(f, 'WA002'), []);
  });

  test('fail/a workload policy whose workloads an older, wider one already selects', () => {
    const f = only(run(docs(
      pa('reviews', 'bookinfo', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}'),
      pa('reviews-v2', 'bookinfo', 'selector: {matchLabels: {app: reviews, version: v2}}\nmtls: {mode: PERMISSIVE}'),
    )), 'WA012');
    assert.deepEqual(f.map((x) => x.resource), ['PeerAuthentication/bookinfo/reviews-v2']);
  });

  test('fail/with the registry: every workload it selects is taken by an older policy with other labels', () => {
    const f = only(run(docs(
      pa('by-app', 'bookinfo', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}'),
      pa('by-version', 'bookinfo', 'selector: {matchLabels: {version: v2}}\nmtls: {mode: PERMISSIVE}'),
    )), 'WA012');
    assert.deepEqual(f.map((x) => x.resource), ['PeerAuthentication/bookinfo/by-version']);
    assert.match(f[0]!.message, /bookinfo\/bookinfo-reviews/);
  });

  test('ok/offline the same pair is not claimed: other workloads may have version v2', () => {
    const f = run(docs(
      pa('by-app', 'bookinfo', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}'),
      pa('by-version', 'bookinfo', 'selector: {matchLabels: {version: v2}}\nmtls: {mode: PERMISSIVE}'),
    ), { workloads: 'offline' });
    assert.deepEqual(only(f, 'WA012'), []);
    assert.equal(only(f, 'WA002').length, 1);
  });

  test('ok/one policy per level, and disjoint workload policies', () => {
    const f = run(docs(
      pa('default', 'istio-system', 'mtls: {mode: STRICT}'),
      pa('default', 'bookinfo', 'mtls: {mode: STRICT}'),
      pa('reviews', 'bookinfo', 'selector: {matchLabels: {app: reviews}}\nmtls: {mode: STRICT}'),
      pa('mysql', 'bookinfo', 'selector: {matchLabels: {app: mysqldb}}\nmtls: {mode: STRICT}'),
    ));
    assert.deepEqual(only(f, 'WA012'), []);
  });
});
