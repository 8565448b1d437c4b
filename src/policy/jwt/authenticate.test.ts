import assert from 'node:assert/strict';
import { createHmac, createPublicKey, KeyObject, sign } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, importJWK, SignJWT } from 'jose';
import type { JWTRule } from '../../config/generated/types.js';
import { authenticateRequest, compileJwtRules, staticKeyResolver, type JwtAuthnResult, type JwtRequest } from './index.js';
import { b64url, ISSUER, jwksOf, NOW_MS, NOW_S, requestAuthentication, signingKey, signToken, type SigningKey } from './testing/fixtures.js';

const workload = { namespace: 'foo', labels: { app: 'httpbin' } };
let es: SigningKey;
let rs: SigningKey;
let stranger: SigningKey;
let jwks: string;

before(async () => {
  es = await signingKey('ES256', 'es-1');
  rs = await signingKey('RS256', 'rs-1');
  stranger = await signingKey('ES256', 'es-1'); // same kid, different key: a forger's
  jwks = jwksOf(es, rs);
});

async function run(rules: readonly JWTRule[], request: JwtRequest, now: number = NOW_MS): Promise<JwtAuthnResult> {
  const compiled = compileJwtRules([requestAuthentication('jwt', rules)], workload, 'istio-system');
  return authenticateRequest(compiled, request, staticKeyResolver(), now);
}

const bearer = (token: string): JwtRequest => ({ headers: { authorization: `Bearer ${token}` } });

function refused(r: JwtAuthnResult): { code: string; reason: string; status: number } {
  assert.equal(r.kind, 'invalid', `expected a refusal, got ${JSON.stringify(r)}`);
  return r.kind === 'invalid' ? { code: r.code, reason: r.reason, status: r.status } : { code: '', reason: '', status: 0 };
}

describe('authenticateRequest refuses every bad token with its own reason', () => {
  const cases: { name: string; token: () => Promise<string>; rule?: Partial<JWTRule>; code: string; reason: string; status?: number }[] = [
    { name: 'fail/bad signature: payload changed after signing', code: 'WEFT_JWT_BAD_SIGNATURE', reason: 'bad signature',
      token: async () => { const [h, , s] = (await signToken(es)).split('.'); return `${h}.${b64url({ iss: ISSUER, sub: 'admin', exp: NOW_S + 60 })}.${s}`; } },
    { name: 'fail/bad signature: a forger key under a trusted kid', code: 'WEFT_JWT_BAD_SIGNATURE', reason: 'bad signature',
      token: () => signToken(stranger) },
    { name: 'fail/alg none', code: 'WEFT_JWT_ALG_NONE', reason: 'unsigned token (alg none)',
      token: async () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: ISSUER, sub: 'admin' })}.` },
    { name: 'fail/alg NoNe in another case', code: 'WEFT_JWT_ALG_NONE', reason: 'unsigned token (alg none)',
      token: async () => `${b64url({ alg: 'NoNe' })}.${b64url({ iss: ISSUER, sub: 'admin' })}.` },
    { name: 'fail/HS256 signed with the issuer public key (PEM) as secret', code: 'WEFT_JWT_ALG_NOT_ALLOWED', reason: 'hmac algorithm not allowed',
      token: async () => hmacWith(await exportSPKI(createPublicKey({ key: rs.publicJwk as never, format: 'jwk' }) as never)) },
    { name: 'fail/HS256 signed with the issuer public JWK as secret', code: 'WEFT_JWT_ALG_NOT_ALLOWED', reason: 'hmac algorithm not allowed',
      token: () => hmacWith(JSON.stringify(rs.publicJwk)) },
    { name: 'fail/an algorithm weft does not verify', code: 'WEFT_JWT_ALG_NOT_ALLOWED', reason: 'algorithm not allowed',
      token: async () => `${b64url({ alg: 'RSA-OAEP', kid: 'rs-1' })}.${b64url({ iss: ISSUER })}.c2ln` },
    { name: 'fail/unknown kid', code: 'WEFT_JWT_UNKNOWN_KID', reason: 'unknown kid',
      token: async () => signToken(await signingKey('ES256', 'es-unknown')) },
    { name: 'fail/RS384 against a key made for RS256', code: 'WEFT_JWT_UNKNOWN_KID', reason: 'unknown kid',
      token: async () => new SignJWT({ iss: ISSUER, sub: 'a' }).setProtectedHeader({ alg: 'RS384', kid: 'rs-1' }).sign(await importJWK(await exportJWK(rs.privateKey), 'RS384')) },
    { name: 'fail/no kid and no key for the algorithm', code: 'WEFT_JWT_UNKNOWN_KID', reason: 'no key for algorithm',
      token: async () => { const k = await signingKey('ES384', 'x'); return new SignJWT({ iss: ISSUER }).setProtectedHeader({ alg: 'ES384' }).sign(k.privateKey); } },
    { name: 'fail/wrong issuer', code: 'WEFT_JWT_UNKNOWN_ISSUER', reason: 'issuer not configured',
      token: () => signToken(es, { iss: 'https://evil.example' }) },
    { name: 'fail/no issuer', code: 'WEFT_JWT_UNKNOWN_ISSUER', reason: 'issuer not configured',
      token: () => signToken(es, { iss: undefined }) },
    { name: 'fail/expired beyond the 60 s skew', code: 'WEFT_JWT_EXPIRED', reason: 'token expired',
      token: () => signToken(es, { exp: NOW_S - 61 }) },
    { name: 'fail/not yet valid beyond the 60 s skew', code: 'WEFT_JWT_NOT_YET_VALID', reason: 'token not yet valid',
      token: () => signToken(es, { nbf: NOW_S + 61 }) },
    { name: 'fail/wrong audience is 403', code: 'WEFT_JWT_AUDIENCE', reason: 'audience not allowed', status: 403, rule: { audiences: ['svc-a'] },
      token: () => signToken(es, { aud: ['svc-b', 'svc-c'] }) },
    { name: 'fail/no audience when audiences are set', code: 'WEFT_JWT_AUDIENCE', reason: 'audience not allowed', status: 403, rule: { audiences: ['svc-a'] },
      token: () => signToken(es) },
    { name: 'fail/malformed: one segment', code: 'WEFT_JWT_MALFORMED', reason: 'malformed token', token: async () => 'abc' },
    { name: 'fail/malformed: four segments', code: 'WEFT_JWT_MALFORMED', reason: 'malformed token', token: async () => `${await signToken(es)}.x` },
    { name: 'fail/malformed: header not json', code: 'WEFT_JWT_MALFORMED', reason: 'malformed token', token: async () => `${b64url('{x')}.${b64url({ iss: ISSUER })}.c2ln` },
    { name: 'fail/malformed: payload is an array', code: 'WEFT_JWT_MALFORMED', reason: 'malformed token', token: async () => `${b64url({ alg: 'ES256' })}.${b64url([1])}.c2ln` },
    { name: 'fail/malformed: kid is a number', code: 'WEFT_JWT_MALFORMED', reason: 'malformed token', token: async () => `${b64url({ alg: 'ES256', kid: 7 })}.${b64url({ iss: ISSUER })}.c2ln` },
    { name: 'fail/malformed: exp is text', code: 'WEFT_JWT_MALFORMED', reason: 'malformed claims', token: () => signToken(es, { exp: 'tomorrow' as never }) },
    { name: 'fail/malformed: a critical header extension weft does not know', code: 'WEFT_JWT_MALFORMED', reason: 'unsupported critical header',
      token: async () => {
        const input = `${b64url({ alg: 'ES256', kid: 'es-1', crit: ['x-weft-unknown'], 'x-weft-unknown': 1 })}.${b64url({ iss: ISSUER, sub: 'a' })}`;
        return `${input}.${sign('sha256', Buffer.from(input), { key: KeyObject.from(es.privateKey), dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
      } },
    { name: 'fail/malformed: a JWE', code: 'WEFT_JWT_MALFORMED', reason: 'malformed token', token: async () => 'eyJhbGciOiJkaXIifQ..aXY.Y3Q.dGFn' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await run([{ issuer: ISSUER, jwks, ...c.rule }], bearer(await c.token()));
      assert.deepEqual(refused(r), { code: c.code, reason: c.reason, status: c.status ?? 401 });
      assert.equal(r.kind === 'invalid' && r.location, 'header authorization');
    });
  }

  test('fail/jwks unavailable: a remote source that never loaded refuses every token', async () => {
    const r = await run([{ issuer: ISSUER, jwksUri: 'https://keys.example/jwks' }], bearer(await signToken(es)));
    assert.deepEqual(refused(r), { code: 'WEFT_JWT_KEYS_UNAVAILABLE', reason: 'jwks unavailable', status: 401 });
  });

  test('fail/inline jwks that holds only a symmetric key refuses, never verifies with it', async () => {
    const secret = Buffer.from('shared-secret-shared-secret-0123').toString('base64url');
    const r = await run([{ issuer: ISSUER, jwks: JSON.stringify({ keys: [{ kty: 'oct', k: secret, kid: 'h' }] }) }], bearer(await signToken(es)));
    assert.equal(refused(r).code, 'WEFT_JWT_KEYS_UNAVAILABLE');
  });

  test('fail/a second token that is bad refuses the request even when the first is good', async () => {
    const r = await run([{ issuer: ISSUER, jwks }], { headers: { authorization: `Bearer ${await signToken(es)}` }, params: { access_token: await signToken(es, { exp: NOW_S - 3600 }) } });
    assert.equal(refused(r).code, 'WEFT_JWT_EXPIRED');
    assert.equal(r.kind === 'invalid' && r.location, 'param access_token');
  });

  test('fail/a token of a known issuer at a location only another issuer reads', async () => {
    const rules: JWTRule[] = [
      { issuer: ISSUER, jwks, fromHeaders: [{ name: 'x-jwt' }] },
      { issuer: 'https://other.example', jwks },
    ];
    assert.equal(refused(await run(rules, bearer(await signToken(es)))).code, 'WEFT_JWT_UNKNOWN_ISSUER');
    assert.equal((await run(rules, { headers: { 'x-jwt': await signToken(es) } })).kind, 'ok');
  });
});

describe('authenticateRequest accepts good tokens as Istio does', () => {
  test('ok/ES256 and RS256 tokens give request.auth.* and remove the token', async () => {
    for (const key of [es, rs]) {
      const r = await run([{ issuer: ISSUER, jwks }], bearer(await signToken(key, { aud: 'svc-a', azp: 'web', groups: ['dev'] })));
      assert.equal(r.kind, 'ok');
      if (r.kind !== 'ok') return;
      assert.equal(r.principal, `${ISSUER}/alice`);
      assert.equal(r.subject, 'alice');
      assert.deepEqual(r.audiences, ['svc-a']);
      assert.equal(r.presenter, 'web');
      assert.deepEqual(r.claims.groups, ['dev']);
      assert.deepEqual(r.headersToRemove, ['authorization']);
      assert.deepEqual(r.rule, { namespace: 'foo', name: 'jwt', index: 0, issuer: ISSUER });
    }
  });

  test('ok/inside the clock skew, and without exp', async () => {
    for (const claims of [{ exp: NOW_S - 59 }, { nbf: NOW_S + 59 }, { exp: undefined }]) {
      assert.equal((await run([{ issuer: ISSUER, jwks }], bearer(await signToken(es, claims)))).kind, 'ok', JSON.stringify(claims));
    }
  });

  test('ok/audiences unset: aud is not checked', async () => {
    assert.equal((await run([{ issuer: ISSUER, jwks }], bearer(await signToken(es, { aud: 'anything' })))).kind, 'ok');
  });

  test('ok/one of several audiences is enough', async () => {
    const r = await run([{ issuer: ISSUER, jwks, audiences: ['a', 'b'] }], bearer(await signToken(es, { aud: ['z', 'b'] })));
    assert.equal(r.kind, 'ok');
  });

  test('ok/two rules for one issuer are combined: the one without audiences accepts', async () => {
    const compiled = compileJwtRules(
      [requestAuthentication('strict', [{ issuer: ISSUER, jwks, audiences: ['bar'] }]), requestAuthentication('loose', [{ issuer: ISSUER, jwks }])],
      workload,
      'istio-system',
    );
    const r = await authenticateRequest(compiled, bearer(await signToken(es)), staticKeyResolver(), NOW_MS);
    assert.equal(r.kind === 'ok' && r.rule.name, 'loose');
  });

  test('ok/no token anywhere: none, and the protected headers are still removed', async () => {
    const rules: JWTRule[] = [{ issuer: ISSUER, jwks, outputPayloadToHeader: 'X-Jwt-Payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] }];
    for (const request of [{ headers: {} }, { headers: { authorization: 'Basic YTpi' } }, { headers: { 'x-token': await signToken(es) } }]) {
      assert.deepEqual(await run(rules, request), { kind: 'none', headersToRemove: ['x-jwt-payload', 'x-sub'] });
    }
  });

  test('ok/outputPayloadToHeader carries the base64url payload; claims go to headers', async () => {
    const token = await signToken(es, { org: { team: { id: 42 } }, admin: true, list: ['x'], bad: 'a\nb' });
    const r = await run(
      [{
        issuer: ISSUER, jwks, outputPayloadToHeader: 'x-jwt-payload',
        outputClaimToHeaders: [{ header: 'X-Team', claim: 'org.team.id' }, { header: 'x-admin', claim: 'admin' }, { header: 'x-list', claim: 'list' }, { header: 'x-bad', claim: 'bad' }],
      }],
      bearer(token),
    );
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.equal(JSON.parse(Buffer.from(r.headersToAdd['x-jwt-payload']!, 'base64url').toString()).org.team.id, 42);
    assert.deepEqual({ ...r.headersToAdd, 'x-jwt-payload': undefined }, { 'x-jwt-payload': undefined, 'x-team': '42', 'x-admin': 'true' });
  });

  test('ok/forwardOriginalToken keeps the token; otherwise params and cookies are removed too', async () => {
    const token = await signToken(es);
    const fwd = await run([{ issuer: ISSUER, jwks, forwardOriginalToken: true }], bearer(token));
    assert.deepEqual(fwd.kind === 'ok' && fwd.headersToRemove, []);
    const r = await run([{ issuer: ISSUER, jwks, fromParams: ['t'], fromCookies: ['session'] }], { headers: {}, params: { t: token }, cookies: { session: token } });
    assert.equal(r.kind, 'ok');
    assert.deepEqual(r.kind === 'ok' && [r.paramsToRemove, r.cookiesToRemove], [['t'], ['session']]);
  });

  test('ok/the default locations are Authorization Bearer and access_token', async () => {
    const token = await signToken(es);
    assert.equal((await run([{ issuer: ISSUER, jwks }], { headers: {}, params: { access_token: token } })).kind, 'ok');
    assert.equal((await run([{ issuer: ISSUER, jwks }], { headers: { authorization: `bearer ${token}` } })).kind, 'ok');
    // Once a location is configured the defaults no longer apply.
    assert.equal((await run([{ issuer: ISSUER, jwks, fromHeaders: [{ name: 'x-jwt' }] }], bearer(token))).kind, 'none');
  });

  test('ok/a key without kid verifies a token without kid; a token without kid tries every fitting key', async () => {
    const noKid = { ...es.publicJwk, kid: undefined };
    const token = await new SignJWT({ iss: ISSUER, sub: 's' }).setProtectedHeader({ alg: 'ES256' }).sign(es.privateKey);
    const other = await signingKey('ES256', 'other');
    const r = await run([{ issuer: ISSUER, jwks: jwksOf(other, noKid as never) }], bearer(token));
    assert.equal(r.kind, 'ok');
  });
});

async function hmacWith(secret: string): Promise<string> {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'rs-1' })}.${b64url({ iss: ISSUER, sub: 'admin', exp: NOW_S + 600 })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
