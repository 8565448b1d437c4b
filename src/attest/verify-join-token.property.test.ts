import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { ATTEST_ERROR_CODES, JoinTokenError } from './errors.js';
import { b64, EXPECT, partsOf, resign } from './testing/fixtures.js';
import { cleanupAll, env, signingKey, web, WEB } from './testing/verify-cases.js';
import type { JoinTokenStore } from './token-store.js';

after(cleanupAll);

describe('JoinTokenStore#verify properties', () => {
  const codes = new Set<string>(ATTEST_ERROR_CODES);
  const refusesCleanly = (store: JoinTokenStore, text: string) => {
    try {
      store.verify(text, EXPECT);
    } catch (err) {
      return err instanceof JoinTokenError && codes.has(err.code) && !/\b(undefined|NaN|\[object)/.test(err.message);
    }
    return false;
  };

  test('any string is refused with a JoinTokenError carrying an attest code, never another error', () => {
    const e = env();
    web(e);
    fc.assert(fc.property(fc.string({ maxLength: 600 }), (s) => refusesCleanly(e.store, s)), { numRuns: 2000 });
  });

  test('three base64url segments of arbitrary JSON are refused cleanly', () => {
    const e = env();
    web(e);
    const segment = fc.oneof(fc.jsonValue().map((v) => b64(v)), fc.base64String().map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')));
    fc.assert(fc.property(segment, segment, segment, (h, p, s) => refusesCleanly(e.store, `${h}.${p}.${s}`)), { numRuns: 1000 });
  });

  test('arbitrary claims in a validly signed token with the right header are refused cleanly or verify only as recorded', () => {
    const e = env();
    const { token } = web(e);
    const { header, claims } = partsOf(token);
    const key = signingKey(e.dir);
    const field = fc.constantFrom('iss', 'sub', 'jti', 'iat', 'exp', 'once', 'ca', 'extra');
    fc.assert(
      fc.property(field, fc.jsonValue(), (name, value) => {
        const forged = resign(header, { ...claims, [name]: value }, key);
        try {
          const proven = e.store.verify(forged, EXPECT);
          return proven.spiffeId === WEB && proven.tokenId === claims.jti;
        } catch (err) {
          return err instanceof JoinTokenError && codes.has(err.code);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('changing any one character of a valid token makes it fail', () => {
    const e = env();
    const { token } = web(e);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), (i, ch) => {
        fc.pre(token[i] !== ch);
        return refusesCleanly(e.store, token.slice(0, i) + ch + token.slice(i + 1));
      }),
      { numRuns: 1000 },
    );
  });
});
