import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { isWeftError } from '../../lib/errors.js';
import { JwksKeySet, MAX_KEYS } from './index.js';
import { signingKey } from './testing/fixtures.js';

function parseFails(text: string, message: string): void {
  assert.throws(() => JwksKeySet.parse(text, 'inline'), (err) => isWeftError(err, 'WEFT_JWKS_INVALID') && err.message === message);
}

describe('JwksKeySet', () => {
  test('fail/not json, no keys array, no usable public key', () => {
    parseFails('{', 'jwks is not valid json');
    parseFails('{"keys":{}}', 'jwks has no "keys" array');
    parseFails('[]', 'jwks has no "keys" array');
    parseFails('{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}', 'jwks holds no usable public signing key');
    parseFails('{"keys":[{"kty":"RSA","n":"AQAB"}]}', 'jwks holds no usable public signing key');
    parseFails('{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","use":"enc"}]}', 'jwks holds no usable public signing key');
    parseFails('{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","alg":"HS256"}]}', 'jwks holds no usable public signing key');
    parseFails('{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","key_ops":["encrypt"]}]}', 'jwks holds no usable public signing key');
  });

  test('a private JWK in the set is used only by its public half', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const set = JwksKeySet.parse(JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'p' }] }), 'inline');
    const [key] = await set.keysFor('ES256', 'p');
    assert.equal(key!.type, 'public');
  });

  test('keys are offered only for algorithms their type, curve and alg allow', async () => {
    const es = await signingKey('ES256', 'es');
    const rs = await signingKey('RS256', 'rs');
    const ed = await signingKey('EdDSA', 'ed');
    const noAlg = { ...(await signingKey('PS256', 'ps')).publicJwk, alg: undefined };
    const set = JwksKeySet.parse(JSON.stringify({ keys: [es.publicJwk, rs.publicJwk, ed.publicJwk, noAlg] }), 'inline');
    assert.deepEqual(set.kids(), ['es', 'rs', 'ed', 'ps']);
    assert.equal(set.has('ES256', 'es'), true);
    assert.equal(set.has('ES384', 'es'), false);
    assert.equal(set.has('RS384', 'rs'), false, 'rs carries alg RS256');
    assert.equal(set.has('PS512', 'ps'), true, 'an RSA key without alg serves every RSA algorithm');
    assert.equal(set.has('EdDSA', 'ed'), true);
    assert.equal(set.has('ES256', 'rs'), false);
    assert.equal((await set.keysFor('RS256', undefined)).length, 2, 'without kid: rs and ps fit RS256');
    assert.equal(await set.keysFor('ES256', 'es').then((k) => k[0]), await set.keysFor('ES256', 'es').then((k) => k[0]), 'imported once');
  });

  test('a key whose numbers do not import is treated as absent', async () => {
    const set = JwksKeySet.parse('{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"bad"}]}', 'inline');
    assert.deepEqual(await set.keysFor('ES256', 'bad'), []);
  });

  test(`at most ${MAX_KEYS} keys are read`, async () => {
    const es = await signingKey('ES256', 'k');
    const set = JwksKeySet.parse(JSON.stringify({ keys: Array.from({ length: MAX_KEYS + 5 }, (_, i) => ({ ...es.publicJwk, kid: `k${i}` })) }), 'inline');
    assert.equal(set.size, MAX_KEYS);
  });
});
