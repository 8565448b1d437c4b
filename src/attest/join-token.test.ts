import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { calculateJwkThumbprint, exportJWK, jwtVerify } from 'jose';
import { JoinTokenError } from './errors.js';
import { decodeJoinToken, JOIN_TOKEN_TYPE } from './join-token.js';
import { b64, CA, partsOf, resign, tempStore, TD } from './testing/fixtures.js';

const env = tempStore();
after(() => env.cleanup());
const created = env.store.create({ trustDomain: TD, namespace: 'payments', serviceAccount: 'api-v2', caFingerprint: CA, once: true, ttlMs: 90 * 60_000 });
const keyPem = readFileSync(join(env.dir, 'tokens', 'signing-key.pem'), 'utf8');

describe('decodeJoinToken', () => {
  test('ok/reads identity, pinned CA, expiry and once without any key', () => {
    assert.deepEqual(decodeJoinToken(created.token), {
      tokenId: created.id,
      spiffeId: `spiffe://${TD}/ns/payments/sa/api-v2`,
      trustDomain: TD,
      namespace: 'payments',
      serviceAccount: 'api-v2',
      caFingerprint: CA,
      issuedAt: new Date(Date.UTC(2026, 0, 1)),
      expiresAt: new Date(Date.UTC(2026, 0, 1, 1, 30)),
      once: true,
    });
  });

  test('ok/decodes a token whatever its signature says (the workload cannot check it)', () => {
    const [h, p] = created.token.split('.');
    assert.equal(decodeJoinToken(`${h}.${p}.${b64('not a signature')}`).tokenId, created.id);
  });

  const malformed: [string, string, RegExp][] = [
    ['fail/garbage', 'not-a-token', /^join token is malformed: not a compact JWS/],
    ['fail/two segments', created.token.split('.').slice(0, 2).join('.'), /not a compact JWS/],
    ['fail/non-JSON payload', `${created.token.split('.')[0]}.${b64('{')}.sig`, /^join token is malformed: the payload is not UTF-8 JSON$/],
    ['fail/invalid UTF-8 in the payload', `${created.token.split('.')[0]}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.sig`, /not UTF-8 JSON/],
    ['fail/header is JSON null', `${b64(null)}.${created.token.split('.')[1]}.sig`, /the header is not a JSON object/],
    ['fail/padding in a segment', `${created.token.split('.')[0]}=.${created.token.split('.')[1]}.sig`, /the header is not base64url/],
    ['fail/a JWT that is not a join token', `${b64({ alg: 'ES256', typ: 'JWT', kid: 'k' })}.${created.token.split('.')[1]}.sig`, /header "typ" must be "weft-join\+jwt"/],
    ['fail/no kid', `${b64({ alg: 'ES256', typ: JOIN_TOKEN_TYPE })}.${created.token.split('.')[1]}.sig`, /header "kid" must name the token-signing key/],
  ];
  for (const [name, text, message] of malformed) {
    test(name, () => {
      assert.throws(() => decodeJoinToken(text), (err) => err instanceof JoinTokenError && err.code === 'WEFT_TOKEN_MALFORMED' && message.test(err.message));
    });
  }

  test('fail/a non-canonical base64url spelling of the same bytes is refused', () => {
    // 'Q' encodes 010000; 'R' differs only in the trailing bits a 2-byte tail discards.
    const [h, p, s] = created.token.split('.') as [string, string, string];
    assert.equal(s.length % 4, 2);
    const last = s.at(-1)!;
    const twin = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').find((c) => c !== last && Buffer.from(s.slice(0, -1) + c, 'base64url').equals(Buffer.from(s, 'base64url')))!;
    assert.ok(twin !== undefined);
    assert.throws(() => decodeJoinToken(`${h}.${p}.${s.slice(0, -1)}${twin}`), /not canonical base64url/);
  });

  test('decoding any string throws only JoinTokenError WEFT_TOKEN_MALFORMED', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          decodeJoinToken(s);
          return false;
        } catch (err) {
          return err instanceof JoinTokenError && err.code === 'WEFT_TOKEN_MALFORMED';
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('join-token format', () => {
  test('the header is {alg: ES256, typ: weft-join+jwt, kid: RFC 7638 thumbprint of the signing key}', async () => {
    const { header } = partsOf(created.token);
    const jwk = await exportJWK(createPublicKey(createPrivateKey(keyPem)));
    assert.deepEqual(header, { alg: 'ES256', typ: 'weft-join+jwt', kid: await calculateJwkThumbprint(jwk, 'sha256') });
  });

  test('the claims are iss, sub, jti (128 bits), iat, exp, once and ca', () => {
    const { claims } = partsOf(created.token);
    assert.deepEqual(claims, {
      iss: `spiffe://${TD}`,
      sub: `spiffe://${TD}/ns/payments/sa/api-v2`,
      jti: created.id,
      iat: Date.UTC(2026, 0, 1) / 1000,
      exp: Date.UTC(2026, 0, 1, 1, 30) / 1000,
      once: true,
      ca: CA,
    });
    assert.equal(Buffer.from(created.id, 'base64url').length, 16);
  });

  test('jose verifies a join token with the public key, ES256 only, at the frozen time', async () => {
    const publicKey = createPublicKey(createPrivateKey(keyPem));
    const { payload, protectedHeader } = await jwtVerify(created.token, publicKey, {
      algorithms: ['ES256'],
      typ: JOIN_TOKEN_TYPE,
      issuer: `spiffe://${TD}`,
      currentDate: new Date(Date.UTC(2026, 0, 1, 1)),
    });
    assert.equal(payload.sub, created.spiffeId);
    assert.equal(protectedHeader.alg, 'ES256');
  });

  test('expiry is rounded up to a whole second, so a token lives at least its TTL', () => {
    const e = tempStore();
    try {
      e.clock.set(Date.UTC(2026, 0, 1) + 400);
      const c = e.store.create({ trustDomain: TD, namespace: 'a', serviceAccount: 'b', caFingerprint: CA, ttlMs: 1000 });
      assert.equal(c.expiresAt.getTime(), Date.UTC(2026, 0, 1) + 2000);
      assert.equal(partsOf(c.token).claims.exp, c.expiresAt.getTime() / 1000);
    } finally {
      e.cleanup();
    }
  });

  test('a token re-signed by the same key with the same claims still decodes identically', () => {
    const { header, claims } = partsOf(created.token);
    const again = resign(header, claims, createPrivateKey(keyPem));
    assert.notEqual(again, created.token); // ECDSA signatures are randomized
    assert.deepEqual(decodeJoinToken(again), decodeJoinToken(created.token));
  });
});
