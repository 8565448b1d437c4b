import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { importPKCS8, SignJWT, UnsecuredJWT } from 'jose';
import { FrozenClock } from '../lib/clock.js';
import { JoinTokenError } from './errors.js';
import { b64, CA, EXPECT, hs256, OTHER_CA, partsOf, resign, tempDir, TD } from './testing/fixtures.js';
import { cleanupAll, env, onCleanup, runVerifyCases, signingKey, web, WEB, type VerifyCase } from './testing/verify-cases.js';
import { JoinTokenStore } from './token-store.js';

after(cleanupAll);

const cases: VerifyCase[] = [
  { name: 'ok/a valid token verifies to the identity it names', make: (e) => ({ token: web(e).token }), ok: WEB },
  {
    name: 'ok/a token verifies one millisecond before it expires',
    make: (e) => {
      const c = web(e, { ttlMs: 60_000 });
      e.clock.set(c.expiresAt.getTime() - 1);
      return { token: c.token };
    },
    ok: WEB,
  },
  {
    name: 'ok/a reusable token verifies many times',
    make: (e) => {
      const { token } = web(e);
      for (let i = 0; i < 5; i++) e.store.verify(token, EXPECT);
      return { token };
    },
    ok: WEB,
  },
  { name: 'ok/a --once token verifies the first time', make: (e) => ({ token: web(e, { once: true }).token }), ok: WEB },
  {
    name: 'ok/a token verifies in another store opened later on the same data directory',
    make: (e) => ({ token: web(e).token, store: JoinTokenStore.open(e.dir, { clock: e.clock }) }),
    ok: WEB,
  },
  {
    name: 'ok/a store opened before the signing key existed verifies tokens another process created later',
    make: (e) => {
      const early = JoinTokenStore.open(e.dir, { clock: e.clock });
      return { token: web(e).token, store: early };
    },
    ok: WEB,
  },
  {
    name: 'ok/a token signed by jose with the store key and the same claims verifies (format interop)',
    make: async (e) => {
      const { token } = web(e);
      const { header, claims } = partsOf(token);
      const key = await importPKCS8(readFileSync(join(e.dir, 'tokens', 'signing-key.pem'), 'utf8'), 'ES256');
      return { token: await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key) };
    },
    ok: WEB,
  },
  {
    name: 'fail/expired: the clock reached the expiry time',
    make: (e) => {
      const c = web(e, { ttlMs: 3_600_000 });
      e.clock.advance(3_600_000);
      return { token: c.token };
    },
    code: 'WEFT_TOKEN_EXPIRED',
    reason: 'expired',
    message: /^join token [\w-]{22} expired at 2026-01-01T01:00:00\.000Z$/,
  },
  {
    name: 'fail/revoked: revoked before use',
    make: (e) => {
      const c = web(e);
      e.clock.advance(1000);
      e.store.revoke(c.id);
      return { token: c.token };
    },
    code: 'WEFT_TOKEN_REVOKED',
    reason: 'revoked',
    message: /^join token [\w-]{22} was revoked at 2026-01-01T00:00:01\.000Z$/,
  },
  {
    name: 'fail/revoked: revoked by another store instance (another process) after this one cached the record',
    make: (e) => {
      const c = web(e);
      e.store.verify(c.token, EXPECT);
      JoinTokenStore.open(e.dir, { clock: e.clock }).revoke(c.id);
      return { token: c.token };
    },
    code: 'WEFT_TOKEN_REVOKED',
    reason: 'revoked',
  },
  {
    name: 'fail/reused: a --once token presented twice',
    make: (e) => {
      const c = web(e, { once: true });
      e.store.verify(c.token, EXPECT);
      return { token: c.token };
    },
    code: 'WEFT_TOKEN_REUSED',
    reason: 'reused',
    message: /^join token [\w-]{22} was already used at 2026-01-01T00:00:00\.000Z: it is a single-use \(--once\) token$/,
  },
  {
    name: 'fail/reused: a --once token used through another store instance on the same data directory',
    make: (e) => {
      const c = web(e, { once: true });
      e.store.list(); // this instance has cached the record as unused
      JoinTokenStore.open(e.dir, { clock: e.clock }).verify(c.token, EXPECT);
      return { token: c.token };
    },
    code: 'WEFT_TOKEN_REUSED',
    reason: 'reused',
  },
  {
    name: 'fail/forged: one signature byte flipped',
    make: (e) => {
      const { token } = web(e);
      const [h, p, s] = token.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      sig[10] ^= 0x01;
      return { token: `${h}.${p}.${sig.toString('base64url')}` };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'signature',
    message: /^join token [\w-]{22} is forged: its signature does not verify with this control plane's token key$/,
  },
  {
    name: 'fail/forged: payload changed to another service account, original signature kept',
    make: (e) => {
      const { token } = web(e);
      const { claims } = partsOf(token);
      const [h, , s] = token.split('.');
      return { token: `${h}.${b64({ ...claims, sub: `spiffe://${TD}/ns/default/sa/admin` })}.${s}` };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'signature',
  },
  {
    name: 'fail/forged: a --once token turned reusable, original signature kept',
    make: (e) => {
      const { token } = web(e, { once: true });
      const { claims } = partsOf(token);
      const [h, , s] = token.split('.');
      return { token: `${h}.${b64({ ...claims, once: false })}.${s}` };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'signature',
  },
  {
    name: 'fail/forged: the same header and claims re-signed by a different P-256 key',
    make: (e) => {
      const { header, claims } = partsOf(web(e).token);
      return { token: resign(header, claims, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey) };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'signature',
  },
  {
    name: 'fail/forged: alg "none" with an empty signature',
    make: (e) => {
      const { header, claims } = partsOf(web(e).token);
      return { token: `${b64({ ...header, alg: 'none' })}.${b64(claims)}.` };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'alg',
    message: /^join token [\w-]{22} is forged: alg "none" is not allowed, join tokens are ES256$/,
  },
  {
    name: 'fail/forged: an unsecured JWT made by jose with the genuine claims',
    make: (e) => ({ token: new UnsecuredJWT(partsOf(web(e).token).claims).encode() }),
    code: 'WEFT_TOKEN_FORGED',
    reason: 'alg',
  },
  {
    name: 'fail/forged: HS256 keyed with the public key PEM (alg confusion)',
    make: (e) => {
      const { header, claims } = partsOf(web(e).token);
      const pem = createPublicKey(signingKey(e.dir)).export({ format: 'pem', type: 'spki' });
      return { token: hs256({ ...header, alg: 'HS256' }, claims, pem) };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'alg',
  },
  {
    name: 'fail/forged: HS256 signed by jose keyed with the public key DER',
    make: async (e) => {
      const { header, claims } = partsOf(web(e).token);
      const der = createPublicKey(signingKey(e.dir)).export({ format: 'der', type: 'spki' });
      return { token: await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'HS256' }).sign(new Uint8Array(der)) };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'alg',
  },
  {
    name: 'fail/forged: validly signed, but the store record names another identity',
    make: (e) => {
      const c = web(e);
      const path = join(e.dir, 'tokens', 'tokens.json');
      writeFileSync(path, readFileSync(path, 'utf8').replace('/sa/web', '/sa/other'));
      return { token: c.token };
    },
    code: 'WEFT_TOKEN_FORGED',
    reason: 'claims',
    message: /^join token [\w-]{22} is forged: its claim "sub" does not match the token's record$/,
  },
  {
    name: 'fail/foreign: issued for another trust domain',
    make: (e) => ({ token: web(e, { trustDomain: 'other.mesh' }).token }),
    code: 'WEFT_TOKEN_FOREIGN',
    reason: 'trust-domain',
    message: /^join token [\w-]{22} is foreign: it was issued for trust domain "other\.mesh", this control plane serves "cluster\.local"$/,
  },
  {
    name: 'fail/foreign: pins another CA fingerprint',
    make: (e) => ({ token: web(e, { caFingerprint: OTHER_CA }).token }),
    code: 'WEFT_TOKEN_FOREIGN',
    reason: 'ca-fingerprint',
    message: new RegExp(`^join token [\\w-]{22} is foreign: it pins CA ${OTHER_CA}, this control plane's CA is ${CA}$`),
  },
  {
    name: 'fail/foreign: created in a second data directory with its own CA',
    make: (e) => {
      const other = tempDir();
      onCleanup(other.cleanup);
      const token = JoinTokenStore.open(other.dir, { clock: e.clock })
        .create({ trustDomain: TD, namespace: 'default', serviceAccount: 'web', caFingerprint: OTHER_CA }).token;
      web(e);
      return { token };
    },
    code: 'WEFT_TOKEN_FOREIGN',
    reason: 'ca-fingerprint',
  },
  {
    name: 'fail/foreign: created in a second data directory sharing the CA (another token key)',
    make: (e) => {
      const other = tempDir();
      onCleanup(other.cleanup);
      const token = JoinTokenStore.open(other.dir, { clock: e.clock })
        .create({ trustDomain: TD, namespace: 'default', serviceAccount: 'web', caFingerprint: CA }).token;
      web(e);
      return { token };
    },
    code: 'WEFT_TOKEN_FOREIGN',
    reason: 'signing-key',
    message: /^join token [\w-]{22} is foreign: it was signed by another token key \(this data directory's is [\w-]{43}\); was it created with another --data-dir\?$/,
  },
  {
    name: 'fail/foreign: presented to a data directory that has no token key yet',
    make: (e) => {
      const other = tempDir();
      onCleanup(other.cleanup);
      return { token: web(e).token, store: JoinTokenStore.open(other.dir, { clock: e.clock }) };
    },
    code: 'WEFT_TOKEN_FOREIGN',
    reason: 'signing-key',
    message: /\(this data directory has none yet\)/,
  },
  {
    name: 'fail/unknown: tokens.json removed after the token was created',
    make: (e) => {
      const { token } = web(e);
      e.store.list();
      rmSync(join(e.dir, 'tokens', 'tokens.json'));
      return { token };
    },
    code: 'WEFT_TOKEN_UNKNOWN',
    reason: 'unknown',
    message: /^join token [\w-]{22} is unknown: it is validly signed but this data directory's token store has no record of it/,
  },
  {
    name: 'fail/unknown: tokens.json removed and recreated by a later create',
    make: (e) => {
      const { token } = web(e);
      rmSync(join(e.dir, 'tokens', 'tokens.json'));
      web(e);
      return { token };
    },
    code: 'WEFT_TOKEN_UNKNOWN',
    reason: 'unknown',
  },
];

describe('JoinTokenStore#verify', () => {
  runVerifyCases(cases);
});

describe('JoinTokenStore#verify', () => {
  test('fail/verify refuses a bad expectation as a TypeError', () => {
    const e = env();
    const { token } = web(e);
    assert.throws(() => e.store.verify(token, { trustDomain: TD, caFingerprint: 'abc' }), TypeError);
    assert.throws(() => e.store.verify(token, undefined as never), TypeError);
  });

  test('a --once token is marked used on disk before verify returns', () => {
    const e = env();
    const c = web(e, { once: true });
    e.clock.advance(5_000);
    e.store.verify(c.token, EXPECT);
    const onDisk = JSON.parse(readFileSync(join(e.dir, 'tokens', 'tokens.json'), 'utf8'));
    assert.equal(onDisk.tokens[0].usedAt, '2026-01-01T00:00:05.000Z');
    assert.equal(JoinTokenStore.open(e.dir, { clock: e.clock }).list()[0]?.state, 'used');
  });

  test('a refused --once token is not marked used', () => {
    const e = env();
    const c = web(e, { once: true });
    assert.throws(() => e.store.verify(c.token, { trustDomain: TD, caFingerprint: OTHER_CA }));
    assert.equal(e.store.verify(c.token, EXPECT).tokenId, c.id);
  });

  test('expiry follows the injected clock, not the wall clock', () => {
    const e = env();
    e.clock.set(Date.UTC(2040, 0, 1));
    const c = web(e, { ttlMs: 1000 });
    assert.equal(e.store.verify(c.token, EXPECT).tokenId, c.id);
    const past = JoinTokenStore.open(e.dir, { clock: new FrozenClock(Date.UTC(2040, 0, 1, 0, 0, 1)) });
    assert.throws(() => past.verify(c.token, EXPECT), (err) => err instanceof JoinTokenError && err.code === 'WEFT_TOKEN_EXPIRED');
  });

  test('revoked takes precedence over used and expired, as in list()', () => {
    const e = env();
    const c = web(e, { once: true, ttlMs: 1000 });
    e.store.verify(c.token, EXPECT);
    e.clock.advance(10_000);
    assert.throws(() => e.store.verify(c.token, EXPECT), (err) => err instanceof JoinTokenError && err.code === 'WEFT_TOKEN_REUSED');
    e.store.revoke(c.id);
    assert.throws(() => e.store.verify(c.token, EXPECT), (err) => err instanceof JoinTokenError && err.code === 'WEFT_TOKEN_REVOKED');
    assert.equal(e.store.list()[0]?.state, 'revoked');
  });
});
