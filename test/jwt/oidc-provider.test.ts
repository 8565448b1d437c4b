// RequestAuthentication against a real OpenID provider (oidc-provider on 127.0.0.1): its tokens
// verify through its jwks_uri (given, or found by discovery), every attack is refused with its
// reason, and a key rotation is picked up on the first token with the new kid, without a restart
// and without a fetch per request.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, SignJWT } from 'jose';
import type { JWTRule } from '../../src/config/generated/types.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { authenticateRequest, compileJwtRules, type JwtAuthnResult, type JwtKeyResolver } from '../../src/policy/jwt/index.js';
import { requestAuthentication } from '../../src/policy/jwt/testing/fixtures.js';
import { JwksResolver } from '../../src/proxy/jwks/index.js';
import { OpenIdProvider, providerKey, RESOURCE, type ProviderKey } from './oidc.js';

const workload = { namespace: 'foo', labels: { app: 'httpbin' } };
let idp: OpenIdProvider;
let key1: ProviderKey;

before(async () => {
  key1 = await providerKey('ES256', 'idp-key-1');
  idp = await OpenIdProvider.start(key1);
});

after(() => idp.stop());

function authenticate(rules: readonly JWTRule[], resolver: JwtKeyResolver, token: string, now = Date.now()): Promise<JwtAuthnResult> {
  const compiled = compileJwtRules([requestAuthentication('idp', rules)], workload, 'istio-system');
  return authenticateRequest(compiled, { headers: { authorization: `Bearer ${token}` } }, resolver, now);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const outcome = (r: JwtAuthnResult) => (r.kind === 'invalid' ? `${r.status} ${r.code}: ${r.reason}` : r.kind);

describe('tokens from a real OpenID provider', () => {
  test('an access token verifies through jwksUri and through discovery, with Istio request.auth.*', async () => {
    const token = await idp.accessToken();
    for (const rule of [{ issuer: idp.issuer, jwksUri: idp.jwksUri }, { issuer: idp.issuer }]) {
      const r = await authenticate([{ ...rule, audiences: [RESOURCE] }], new JwksResolver(), token);
      assert.equal(r.kind, 'ok', outcome(r));
      if (r.kind !== 'ok') return;
      assert.equal(r.principal, `${idp.issuer}/orders`);
      assert.deepEqual(r.audiences, [RESOURCE]);
      assert.equal(r.claims.scope, 'read');
      assert.deepEqual(r.headersToRemove, ['authorization']);
    }
  });

  test('every attack is answered with its own reason', async () => {
    const resolver = new JwksResolver();
    const rule: JWTRule = { issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [RESOURCE] };
    const good = await idp.accessToken();
    const [h, p, s] = good.split('.');
    const claims = decodeJwt(good);
    const publicJwk = (await idp.jwks()).keys[0]!;
    const attacker = await providerKey('ES256', 'attacker');
    const hs256 = (secret: string) => {
      const input = `${b64({ alg: 'HS256', kid: key1.kid })}.${p}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const withIdpKey = (extra: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...extra }).setProtectedHeader({ alg: 'ES256', kid: key1.kid }).sign(key1.privateKey);
    const attacks: [string, string, number?][] = [
      [`${h}.${b64({ ...claims, sub: 'admin' })}.${s}`, '401 WEFT_JWT_BAD_SIGNATURE: bad signature'],
      [await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key1.kid }).sign(attacker.privateKey), '401 WEFT_JWT_BAD_SIGNATURE: bad signature'],
      [`${b64({ alg: 'none' })}.${p}.`, '401 WEFT_JWT_ALG_NONE: unsigned token (alg none)'],
      [hs256(JSON.stringify(publicJwk)), '401 WEFT_JWT_ALG_NOT_ALLOWED: hmac algorithm not allowed'],
      [await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'attacker' }).sign(attacker.privateKey), '401 WEFT_JWT_UNKNOWN_KID: unknown kid'],
      [await new SignJWT({ ...claims, iss: 'http://evil.example' }).setProtectedHeader({ alg: 'ES256', kid: 'attacker' }).sign(attacker.privateKey), '401 WEFT_JWT_UNKNOWN_ISSUER: issuer not configured'],
      [good, '401 WEFT_JWT_EXPIRED: token expired', (claims.exp! + 61) * 1000],
      [await withIdpKey({ nbf: Math.floor(Date.now() / 1000) + 3600 }), '401 WEFT_JWT_NOT_YET_VALID: token not yet valid'],
      [await withIdpKey({ aud: 'urn:weft:other' }), '403 WEFT_JWT_AUDIENCE: audience not allowed'],
      [good.slice(0, good.lastIndexOf('.')), '401 WEFT_JWT_MALFORMED: malformed token'],
    ];
    for (const [token, expected, now] of attacks) assert.equal(outcome(await authenticate([rule], resolver, token, now)), expected);
    assert.equal(outcome(await authenticate([rule], resolver, good)), 'ok', 'the real token still passes');
  });
});

describe('key rotation at the provider', () => {
  test('the resolver picks up the new key on its first token, rate-limited, without a restart', async () => {
    const clock = new FrozenClock(Date.now());
    const resolver = new JwksResolver({ clock, refreshCooldownMs: 30_000, refreshIntervalMs: 20 * 60_000 });
    const rule: JWTRule = { issuer: idp.issuer, jwksUri: idp.jwksUri };
    const before = idp.jwksHits;
    const hits = () => idp.jwksHits - before;
    const oldToken = await idp.accessToken();
    assert.equal(outcome(await authenticate([rule], resolver, oldToken)), 'ok');
    assert.equal(hits(), 1);

    await idp.restart(await providerKey('RS256', 'idp-key-2'));
    const newToken = await idp.accessToken();
    // Within the cooldown of the first fetch the unknown kid is refused without a fetch.
    assert.equal(outcome(await authenticate([rule], resolver, newToken)), '401 WEFT_JWT_UNKNOWN_KID: unknown kid');
    assert.equal(hits(), 1);

    clock.advance(30_000);
    assert.equal(outcome(await authenticate([rule], resolver, newToken)), 'ok');
    assert.equal(hits(), 2);

    // A storm of made-up kids right after: refused, and no further fetch until the cooldown ends.
    const attacker = await providerKey('ES256', 'x');
    for (let i = 0; i < 100; i++) {
      const forged = await new SignJWT({ iss: idp.issuer, sub: 'admin' }).setProtectedHeader({ alg: 'ES256', kid: `made-up-${i}` }).sign(attacker.privateKey);
      assert.equal(outcome(await authenticate([rule], resolver, forged)), '401 WEFT_JWT_UNKNOWN_KID: unknown kid');
    }
    assert.equal(outcome(await authenticate([rule], resolver, oldToken)), '401 WEFT_JWT_UNKNOWN_KID: unknown kid', 'the retired key is gone');
    assert.equal(hits(), 2);

    // The periodic refresh, and a provider outage that keeps the last good set.
    clock.advance(20 * 60_000);
    await resolver.refreshStale();
    assert.equal(hits(), 3);
    await idp.stop();
    clock.advance(20 * 60_000);
    await resolver.refreshStale();
    assert.equal(resolver.status()[0]!.failures, 1);
    assert.equal(outcome(await authenticate([rule], resolver, newToken)), 'ok', 'last good set kept while the provider is down');
    assert.equal(outcome(await authenticate([rule], new JwksResolver(), newToken)), '401 WEFT_JWT_KEYS_UNAVAILABLE: jwks unavailable');
    await idp.restart(key1);
  });
});
