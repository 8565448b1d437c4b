// The request shapes that have slipped past path rules in Istio/Envoy (ISTIO-SECURITY-2021-005,
// 2021-008, Envoy CVE-2019-9901, CVE-2026-73551/73553...) against `DENY paths: ["/admin"]` in each
// normalization mode: normalize as the proxy does, then evaluate the path the app would receive.
// docs/policy.md carries the same table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from './evaluate.js';
import { normalizePath, type PathNormalization } from './normalize-path.js';
import { compile, fromYaml, request } from './testing/fixtures.js';

const DENY_ADMIN = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: foo}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"]}}]}]
`;

type Outcome = 'denied' | 'allowed' | '400';
const MODES: readonly PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

// shape -> outcome in NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES
const TABLE: ReadonlyArray<readonly [string, readonly [Outcome, Outcome, Outcome, Outcome]]> = [
  ['/admin', ['denied', 'denied', 'denied', 'denied']],
  ['//admin', ['allowed', 'allowed', 'denied', 'denied']],
  ['/./admin', ['allowed', 'denied', 'denied', 'denied']],
  ['/foo/../admin', ['allowed', 'denied', 'denied', 'denied']],
  ['/%2e/admin', ['allowed', 'denied', 'denied', 'denied']],
  ['/foo/%2E%2E/admin', ['allowed', 'denied', 'denied', 'denied']],
  ['/%61dmin', ['allowed', 'denied', 'denied', 'denied']],
  ['/%2Fadmin', ['allowed', 'allowed', 'allowed', 'denied']],
  ['/%2fadmin', ['allowed', 'allowed', 'allowed', 'denied']],
  ['/%5Cadmin', ['allowed', 'allowed', 'allowed', 'denied']],
  ['/\\admin', ['allowed', 'allowed', 'denied', 'denied']],
  ['/admin;x=y', ['denied', 'denied', 'denied', 'denied']],
  ['/user/..;x=y/admin', ['allowed', 'denied', 'denied', 'denied']],
  ['/admin#frag', ['400', '400', '400', '400']],
  ['/admin?q=1', ['denied', 'denied', 'denied', 'denied']],
  ['/ADMIN', ['allowed', 'allowed', 'allowed', 'allowed']],
  ['/admin%00', ['400', '400', '400', '400']],
  ['/%zzadmin', ['400', '400', '400', '400']],
];

function outcome(raw: string, mode: PathNormalization): Outcome {
  const n = normalizePath(raw, mode);
  if (!n.ok) return '400';
  const compiled = compile(fromYaml(DENY_ADMIN));
  return evaluate(compiled, request({ path: n.path })).allow ? 'allowed' : 'denied';
}

describe('known path bypass shapes against DENY paths ["/admin"]', () => {
  for (const [shape, expected] of TABLE) {
    test(`${JSON.stringify(shape)} is ${MODES.map((m, i) => `${expected[i]} under ${m}`).join(', ')}`, () => {
      assert.deepEqual(MODES.map((m) => outcome(shape, m)), [...expected]);
    });
  }

  test('with Istio\'s fragment stripping, "/admin#frag" is denied in every mode', () => {
    for (const mode of MODES) {
      const n = normalizePath('/admin#frag', mode, { fragment: 'strip' });
      assert.ok(n.ok);
      assert.equal(evaluate(compile(fromYaml(DENY_ADMIN)), request({ path: n.path })).allow, false);
    }
  });

  test('a prefix rule "/admin*" also catches "/admin/" and "/administrator", still not "/ADMIN"', () => {
    const compiled = compile(fromYaml(DENY_ADMIN.replace('"/admin"', '"/admin*"')));
    for (const p of ['/admin/', '/admin/x', '/administrator']) assert.equal(evaluate(compiled, request({ path: p })).allow, false, p);
    assert.equal(evaluate(compiled, request({ path: '/ADMIN' })).allow, true);
  });

  test('the denial of "/admin;x=y" says it matched the path without parameters', () => {
    const d = evaluate(compile(fromYaml(DENY_ADMIN)), request({ path: '/admin;x=y' }));
    assert.equal(d.allow, false);
    assert.equal(d.pathParametersRemoved, true);
    assert.equal(d.policy?.name, 'deny-admin');
  });

  test('an ALLOW on "/public" does not let "/public;x" reach a literal "/public;x" unless both forms are allowed', () => {
    const compiled = compile(fromYaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: public-only, namespace: foo}
spec:
  rules: [{to: [{operation: {paths: ["/public"]}}]}]
`));
    assert.equal(evaluate(compiled, request({ path: '/public' })).allow, true);
    assert.equal(evaluate(compiled, request({ path: '/public;jsessionid=1' })).allow, false);
  });
});
