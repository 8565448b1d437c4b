import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileJwtRules } from './index.js';
import { requestAuthentication } from './testing/fixtures.js';

const workload = { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' } };
const rule = (issuer: string) => ({ issuer, jwksUri: `https://${issuer}/jwks` });

describe('compileJwtRules selects and merges RequestAuthentications as a sidecar does', () => {
  test('root namespace, own namespace and matching selectors apply; others do not', () => {
    const compiled = compileJwtRules(
      [
        requestAuthentication('mesh', [rule('mesh')], { namespace: 'istio-system' }),
        requestAuthentication('mesh-selected', [rule('mesh-selected')], { namespace: 'istio-system', matchLabels: { app: 'httpbin' } }),
        requestAuthentication('ns', [rule('ns')]),
        requestAuthentication('wl', [rule('wl')], { matchLabels: { app: 'httpbin', version: 'v1' } }),
        requestAuthentication('other-wl', [rule('other-wl')], { matchLabels: { app: 'reviews' } }),
        requestAuthentication('other-ns', [rule('other-ns')], { namespace: 'bar' }),
        requestAuthentication('gateway', [rule('gateway')], { targetRefs: true }),
      ],
      workload,
      'istio-system',
    );
    assert.deepEqual(compiled.rules.map((r) => r.issuer), ['mesh', 'mesh-selected', 'ns', 'wl']);
  });

  test('rules are sorted by issuer and keep where they came from', () => {
    const compiled = compileJwtRules([requestAuthentication('a', [rule('z'), rule('b')]), requestAuthentication('b', [rule('b')])], workload, 'istio-system');
    assert.deepEqual(compiled.rules.map((r) => `${r.issuer} ${r.ref.name}[${r.ref.index}]`), ['b a[1]', 'b b[0]', 'z a[0]']);
  });

  test('defaults: Bearer header then access_token, discovery without jwks, 5 s timeout', () => {
    const [r] = compileJwtRules([requestAuthentication('a', [{ issuer: 'https://issuer.example' }])], workload, 'istio-system').rules;
    assert.deepEqual(r!.locations, [{ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token' }]);
    assert.deepEqual(r!.keys, { kind: 'discovery', issuer: 'https://issuer.example', timeoutMs: 5000 });
    assert.equal(r!.forwardOriginalToken, false);
  });

  test('configured locations replace the defaults; names are lower-cased; timeouts parsed', () => {
    const compiled = compileJwtRules(
      [requestAuthentication('a', [{
        issuer: 'i', jwksUri: 'https://i/jwks', timeout: '1500ms', fromHeaders: [{ name: 'X-Token', prefix: 'Tok ' }], fromCookies: ['s'],
        outputPayloadToHeader: 'X-Payload', outputClaimToHeaders: [{ header: 'X-Sub', claim: 'sub' }],
      }, { issuer: 'j', jwks: '{"keys":[]}', fromParams: ['t'] }])],
      workload,
      'istio-system',
    );
    assert.deepEqual(compiled.rules[0]!.locations, [{ kind: 'header', name: 'x-token', prefix: 'Tok ' }, { kind: 'cookie', name: 's' }]);
    assert.deepEqual(compiled.rules[0]!.keys, { kind: 'uri', uri: 'https://i/jwks', timeoutMs: 1500 });
    assert.deepEqual(compiled.rules[1]!.keys, { kind: 'inline', jwks: '{"keys":[]}' });
    assert.deepEqual(compiled.locations.map((l) => l.name), ['x-token', 's', 't']);
    assert.deepEqual(compiled.protectedHeaders, ['x-payload', 'x-sub']);
    assert.equal(compiled.keySources.length, 2);
    assert.ok(Object.isFrozen(compiled.rules[0]));
  });

  test('no RequestAuthentication: no rules, so nothing is ever extracted', () => {
    const compiled = compileJwtRules([], workload, 'istio-system');
    assert.deepEqual([compiled.rules, compiled.locations], [[], []]);
  });
});
