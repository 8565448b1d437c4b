import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CryptoKey } from 'jose';
import { authenticateRequest, compileJwtRules, staticKeyResolver, VerifiedTokenCache, MAX_CACHED_TOKEN_LENGTH, type JwtKeyResolver, type JwtRequest } from './index.js';
import { ISSUER, jwksOf, NOW_MS, NOW_S, requestAuthentication, signingKey, signToken, type SigningKey } from './testing/fixtures.js';

const workload = { namespace: 'foo', labels: { app: 'httpbin' } };
const bearer = (token: string): JwtRequest => ({ headers: { authorization: `Bearer ${token}` } });

// Counts signature verifications as jose performs them (WebCrypto), to see which requests skip one.
const subtle = globalThis.crypto.subtle;
const original = subtle.verify.bind(subtle);
let verifications = 0;

describe('verified-token cache', () => {
  let es: SigningKey;
  let rotated: SigningKey;
  before(async () => {
    es = await signingKey('ES256', 'es-1');
    rotated = await signingKey('ES256', 'es-1'); // the issuer's next key, under the same kid
    Object.defineProperty(subtle, 'verify', { configurable: true, value: (...args: Parameters<typeof original>) => (verifications++, original(...args)) });
  });
  after(() => {
    delete (subtle as { verify?: unknown }).verify;
  });

  const compile = (audiences: string[] = []) => compileJwtRules([requestAuthentication('jwt', [{ issuer: ISSUER, audiences, jwks: jwksOf(es) }])], workload, 'istio-system');

  test('a repeated token is accepted without a second signature check', async () => {
    const authn = compile();
    const resolver = staticKeyResolver();
    const token = await signToken(es);
    const start = verifications;
    for (let i = 0; i < 5; i++) assert.equal((await authenticateRequest(authn, bearer(token), resolver, NOW_MS)).kind, 'ok');
    assert.equal(verifications - start, 1);
    assert.equal(authn.verified?.size, 1);
  });

  test('fail/a cached token is refused once it expires, and before its nbf', async () => {
    const authn = compile();
    const resolver = staticKeyResolver();
    const token = await signToken(es, { nbf: NOW_S + 100, exp: NOW_S + 200 });
    assert.equal((await authenticateRequest(authn, bearer(token), resolver, NOW_MS + 150_000)).kind, 'ok');
    const late = await authenticateRequest(authn, bearer(token), resolver, NOW_MS + 261_000);
    assert.equal(late.kind === 'invalid' && late.code, 'WEFT_JWT_EXPIRED');
    const early = await authenticateRequest(authn, bearer(token), resolver, NOW_MS);
    assert.equal(early.kind === 'invalid' && early.code, 'WEFT_JWT_NOT_YET_VALID');
    // Inside the 60 s skew on both ends, as on the first verification.
    assert.equal((await authenticateRequest(authn, bearer(token), resolver, NOW_MS + 259_000)).kind, 'ok');
    assert.equal((await authenticateRequest(authn, bearer(token), resolver, NOW_MS + 41_000)).kind, 'ok');
  });

  test('fail/after a key rotation the cache vouches for nothing: the token is checked against the new keys', async () => {
    const authn = compile();
    let served = staticKeyResolver();
    const resolver: JwtKeyResolver = { lookup: (source, alg, kid) => served.lookup(source, alg, kid) };
    const token = await signToken(es);
    assert.equal((await authenticateRequest(authn, bearer(token), resolver, NOW_MS)).kind, 'ok');
    // The issuer's set now holds only the next key under the same kid.
    const rotatedSet = staticKeyResolver();
    served = { lookup: (_source, alg, kid) => rotatedSet.lookup({ kind: 'inline', jwks: jwksOf(rotated) }, alg, kid) };
    const r = await authenticateRequest(authn, bearer(token), resolver, NOW_MS);
    assert.equal(r.kind === 'invalid' && r.code, 'WEFT_JWT_BAD_SIGNATURE');
  });

  test('fail/a token accepted under one snapshot is judged afresh by the next (audiences changed)', async () => {
    const resolver = staticKeyResolver();
    const token = await signToken(es, { aud: 'orders' });
    assert.equal((await authenticateRequest(compile(['orders']), bearer(token), resolver, NOW_MS)).kind, 'ok');
    const r = await authenticateRequest(compile(['payments']), bearer(token), resolver, NOW_MS);
    assert.equal(r.kind === 'invalid' && r.code, 'WEFT_JWT_AUDIENCE');
  });

  test('fail/a token one byte away from a cached one gets no benefit from it', async () => {
    const authn = compile();
    const resolver = staticKeyResolver();
    const token = await signToken(es, { sub: 'alice' });
    assert.equal((await authenticateRequest(authn, bearer(token), resolver, NOW_MS)).kind, 'ok');
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`; // a whole sextet of the signature changed
    const r = await authenticateRequest(authn, bearer(forged), resolver, NOW_MS);
    assert.equal(r.kind === 'invalid' && r.code, 'WEFT_JWT_BAD_SIGNATURE');
  });

  test('fail/a token cached under one rule vouches nothing where only another rule reads the token', async () => {
    const authn = compileJwtRules(
      [
        requestAuthentication('header-rule', [{ issuer: ISSUER, audiences: ['orders'], jwks: jwksOf(es), fromHeaders: [{ name: 'x-orders-token' }] }]),
        requestAuthentication('param-rule', [{ issuer: ISSUER, audiences: ['payments'], jwks: jwksOf(es), fromParams: ['token'] }]),
      ],
      workload,
      'istio-system',
    );
    const resolver = staticKeyResolver();
    const token = await signToken(es, { aud: 'orders' });
    assert.equal((await authenticateRequest(authn, { headers: { 'x-orders-token': token } }, resolver, NOW_MS)).kind, 'ok');
    const r = await authenticateRequest(authn, { headers: {}, params: { token } }, resolver, NOW_MS);
    assert.equal(r.kind === 'invalid' && r.code, 'WEFT_JWT_AUDIENCE');
  });

  test('is bounded: the least recently used token leaves first, and long tokens are never kept', () => {
    const cache = new VerifiedTokenCache(2);
    const rule = compile().rules[0]!;
    const key = {} as CryptoKey;
    const entry = { rule, alg: 'ES256', kid: 'k', key, payload: {}, payloadSegment: '' };
    cache.set('a', entry);
    cache.set('b', entry);
    assert.ok(cache.get('a'));
    cache.set('c', entry);
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a') && cache.get('c'));
    cache.set('x'.repeat(MAX_CACHED_TOKEN_LENGTH + 1), entry);
    assert.equal(cache.size, 2);
  });
});
