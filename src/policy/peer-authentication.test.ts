// PeerAuthentication precedence (Istio ComposePeerAuthentication and the mTLS migration task).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PeerAuthenticationSpec } from '../config/generated/types.js';
import { explainMtls } from './explain.js';
import { resolveMtlsMode } from './resolve-mtls.js';
import { compile, mesh, peerAuthn } from './testing/fixtures.js';

const mode = (m: 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT'): PeerAuthenticationSpec => ({ mtls: { mode: m } });
const sel = (spec: PeerAuthenticationSpec, labels: Record<string, string> = { app: 'httpbin' }): PeerAuthenticationSpec => ({ ...spec, selector: { matchLabels: labels } });

describe('resolveMtlsMode', () => {
  test('ok/nothing applies: MeshConfig mtls.mode, STRICT by default in weft', () => {
    assert.deepEqual(resolveMtlsMode(compile([]), 8000), { mode: 'STRICT', level: 'mesh-config', portLevel: false });
    assert.equal(resolveMtlsMode(compile([], { mesh: mesh({ mtls: { mode: 'PERMISSIVE' } }) }), 8000).mode, 'PERMISSIVE');
  });

  test('ok/mesh, then namespace, then workload: the most specific wins', () => {
    const c = compile([peerAuthn('istio-system', 'mesh', mode('PERMISSIVE')), peerAuthn('foo', 'ns', mode('DISABLE')), peerAuthn('foo', 'wl', sel(mode('STRICT')))]);
    assert.deepEqual(resolveMtlsMode(c, 8000), { mode: 'STRICT', level: 'workload', policy: { namespace: 'foo', name: 'wl' }, portLevel: false });
    const ns = compile([peerAuthn('istio-system', 'mesh', mode('STRICT')), peerAuthn('foo', 'ns', mode('PERMISSIVE'))]);
    assert.equal(resolveMtlsMode(ns, 8000).mode, 'PERMISSIVE');
    assert.equal(resolveMtlsMode(ns, 8000).level, 'namespace');
  });

  test('ok/UNSET (or no mtls) inherits from the level above', () => {
    const c = compile([peerAuthn('foo', 'ns', mode('PERMISSIVE')), peerAuthn('foo', 'wl', sel(mode('UNSET')))]);
    assert.deepEqual(resolveMtlsMode(c, 8000), { mode: 'PERMISSIVE', level: 'namespace', policy: { namespace: 'foo', name: 'ns' }, portLevel: false });
    const none = compile([peerAuthn('istio-system', 'mesh', {})]);
    assert.equal(resolveMtlsMode(none, 8000).level, 'mesh-config');
  });

  test('ok/portLevelMtls by the workload port; UNSET there is the workload\'s mode (Istio\'s finance example)', () => {
    const c = compile([
      peerAuthn('foo', 'ns', mode('STRICT')),
      peerAuthn('foo', 'finance', { selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { '8080': { mode: 'DISABLE' }, '9090': { mode: 'UNSET' } } }),
    ]);
    assert.deepEqual(resolveMtlsMode(c, 8080), { mode: 'DISABLE', level: 'workload', policy: { namespace: 'foo', name: 'finance' }, portLevel: true });
    assert.equal(resolveMtlsMode(c, 9090).mode, 'STRICT');
    assert.equal(resolveMtlsMode(c, 8000).mode, 'STRICT');
  });

  test('ok/among equals the oldest wins, then the name', () => {
    const c = compile([peerAuthn('foo', 'b-new', mode('DISABLE'), '2026-03-01T00:00:00Z'), peerAuthn('foo', 'z-old', mode('PERMISSIVE'), '2026-01-01T00:00:00+00:00')]);
    assert.equal(resolveMtlsMode(c, 80).policy?.name, 'z-old');
    assert.deepEqual(c.peerAuthentication.namespace?.ignored, [{ namespace: 'foo', name: 'b-new' }]);
    const tie = compile([peerAuthn('foo', 'b', mode('DISABLE'), '2026-01-01T00:00:00Z'), peerAuthn('foo', 'a', mode('PERMISSIVE'), '2026-01-01T00:00:00Z')]);
    assert.equal(resolveMtlsMode(tie, 80).policy?.name, 'a');
  });

  test('fail/a selector policy in the root namespace is ignored, as in Istio\'s code', () => {
    const c = compile([peerAuthn('istio-system', 'sel', sel(mode('DISABLE')))]);
    assert.equal(resolveMtlsMode(c, 8000).mode, 'STRICT');
  });

  test('fail/policies of other namespaces and non-matching selectors do not apply', () => {
    const c = compile([peerAuthn('bar', 'ns', mode('DISABLE')), peerAuthn('foo', 'wl', sel(mode('DISABLE'), { app: 'other' }))]);
    assert.equal(resolveMtlsMode(c, 8000).level, 'mesh-config');
  });

  test('ok/a workload in the root namespace: its namespace-wide policies are the mesh level', () => {
    const c = compile([peerAuthn('istio-system', 'mesh', mode('PERMISSIVE'))], { workload: { namespace: 'istio-system', labels: {} } });
    assert.equal(resolveMtlsMode(c, 15000).level, 'mesh');
  });

  test('fail/a port outside 1-65535 is a programming error', () => {
    assert.throws(() => resolveMtlsMode(compile([]), 0), TypeError);
    assert.throws(() => resolveMtlsMode(compile([]), 70000), TypeError);
  });

  test('ok/explainMtls names the deciding resource and level', () => {
    const c = compile([peerAuthn('foo', 'finance', { selector: { matchLabels: { app: 'httpbin' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } })]);
    assert.equal(explainMtls(8080, resolveMtlsMode(c, 8080)), 'port 8080: DISABLE, from PeerAuthentication foo/finance (workload level, portLevelMtls 8080)');
    assert.equal(explainMtls(80, resolveMtlsMode(c, 80)), 'port 80: STRICT, from the MeshConfig default (mtls.mode)');
  });
});
