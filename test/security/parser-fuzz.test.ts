// Bounded fuzz runs at the parsers a hostile peer feeds: X.509-SVID chains (mutated certificates
// from a real CA chain), SPIFFE IDs (random text), and JWTs (mutated genuine tokens, and forged
// ones with hostile headers). Each must answer with a typed refusal, never throw anything else,
// and never accept what its issuer did not sign.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { isWeftError } from '../../src/lib/errors.js';
import { bundleFromPem, parseSpiffeId, verifyX509Svid, type TrustBundle } from '../../src/identity/index.js';
import { authenticateRequest, compileJwtRules, staticKeyResolver, type CompiledJwtAuthenticator } from '../../src/policy/jwt/index.js';
import { ISSUER, jwksOf, NOW_MS, requestAuthentication, signingKey, signToken, type SigningKey } from '../../src/policy/jwt/testing/fixtures.js';
import { TestPki, type TestCert } from '../helpers/pki.js';

const RUNS = 400;

/** One change to a byte string: flip a bit, set a byte, cut it short, or splice bytes in. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(input: Buffer, m: Mutation): Buffer {
  const at = m.at % Math.max(1, input.length);
  const out = Buffer.from(input);
  switch (m.kind) {
    case 'flip':
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    case 'set':
      out[at] = m.byte;
      return out;
    case 'cut':
      return out.subarray(0, at);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
  }
}

describe('X.509-SVID verification under mutated certificates', () => {
  let root: TestCert;
  let intermediate: TestCert;
  let leaf: TestCert;
  let bundle: TrustBundle;
  const ID = 'spiffe://example.org/ns/default/sa/web';

  before(async () => {
    const pki = new TestPki();
    root = await pki.root('example.org');
    intermediate = await pki.intermediate(root);
    leaf = await pki.leaf(intermediate, ID);
    bundle = bundleFromPem('example.org', root.pem);
  });

  test('the genuine chain verifies (the property below is not vacuous)', () => {
    assert.equal(verifyX509Svid([leaf.der, intermediate.der], bundle).spiffeId.text, ID);
  });

  test('a mutated leaf or intermediate is refused with a typed error unless its bytes are unchanged', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (inLeaf, mutations) => {
        const target = inLeaf ? leaf.der : intermediate.der;
        const mutated = mutations.reduce(mutate, target);
        const chain = inLeaf ? [mutated, intermediate.der] : [leaf.der, mutated];
        try {
          verifyX509Svid(chain, bundle);
        } catch (err) {
          assert.ok(isWeftError(err), `not a typed refusal: ${(err as Error).stack}`);
          return;
        }
        assert.ok(mutated.equals(target), `a mutated certificate was accepted: ${mutated.toString('hex')}`);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('SPIFFE ID parsing of random text', () => {
  test('parseSpiffeId accepts only IDs the standard allows and refuses the rest with a typed error', () => {
    const near = fc
      .tuple(fc.constantFrom('spiffe://', 'SPIFFE://', 'spiffe:/', 'spiffe://', ''), fc.string({ maxLength: 20 }), fc.array(fc.constantFrom('/', '/ns', '/default', '/..', '/.', '//', '/%2F', '/sa', '/a?b', '/a#b', '/ü', '/A-z._9'), { maxLength: 5 }))
      .map(([scheme, td, path]) => scheme + td + path.join(''));
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })), (text) => {
        let id: ReturnType<typeof parseSpiffeId>;
        try {
          id = parseSpiffeId(text);
        } catch (err) {
          assert.ok(isWeftError(err), `not a typed refusal for ${JSON.stringify(text)}: ${(err as Error).stack}`);
          return;
        }
        assert.match(id.trustDomain, /^[a-z0-9._-]+$/);
        for (const segment of id.path.split('/').slice(1)) {
          assert.match(segment, /^[A-Za-z0-9._-]+$/, `segment ${JSON.stringify(segment)} of ${JSON.stringify(text)}`);
          assert.ok(segment !== '.' && segment !== '..', `dot segment in ${JSON.stringify(text)}`);
        }
        assert.equal(`spiffe://${id.trustDomain}${id.path}`, text, 'an accepted ID has exactly one spelling');
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

describe('JWT verification of mutated and forged tokens', () => {
  let key: SigningKey;
  let authn: CompiledJwtAuthenticator;
  let genuine: string;

  const verdict = (token: string) => authenticateRequest(authn, { headers: { authorization: `Bearer ${token}` } }, staticKeyResolver(), NOW_MS);

  before(async () => {
    key = await signingKey('ES256', 'k1');
    authn = compileJwtRules([requestAuthentication('jwt', [{ issuer: ISSUER, jwks: jwksOf(key) }])], { namespace: 'foo', labels: { app: 'httpbin' } }, 'istio-system');
    genuine = await signToken(key, { sub: 'alice' });
  });

  test('the genuine token is accepted (the properties below are not vacuous)', async () => {
    assert.equal((await verdict(genuine)).kind, 'ok');
  });

  test('a mutated token is refused unless its signed part and decoded signature are unchanged', async () => {
    const [h, p, s] = genuine.split('.') as [string, string, string];
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const token = mutations.reduce(mutate, Buffer.from(genuine, 'latin1')).toString('latin1');
        const r = await verdict(token);
        if (r.kind !== 'ok') return;
        const [h2, p2, s2] = token.split('.');
        assert.ok(h2 === h && p2 === p && s2 !== undefined && Buffer.from(s2, 'base64url').equals(Buffer.from(s, 'base64url')), `a mutated token was accepted: ${token}`);
      }),
      { numRuns: RUNS },
    );
  });

  test('a token the issuer did not sign is never accepted, whatever its header claims', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'k1', alg: 'ES256' };
    const headerArb = fc.record(
      {
        kid: fc.constantFrom('k1', 'k2', '', '../k1', 'k1\u0000'),
        typ: fc.constantFrom('JWT', 'at+jwt', 'JWE'),
        jwk: fc.constant(attackerJwk),
        jku: fc.constantFrom('https://attacker.example/jwks', 'http://127.0.0.1:1/jwks'),
        x5u: fc.constant('https://attacker.example/cert'),
        b64: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    const claimsArb = fc.record({ sub: fc.constantFrom('admin', 'alice'), aud: fc.constantFrom('a', ['a', 'b']), exp: fc.integer({ min: NOW_MS / 1000 - 100, max: NOW_MS / 1000 + 3600 }) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(headerArb, claimsArb, async (header, claims) => {
        let token: string;
        try {
          token = await new SignJWT({ iss: ISSUER, ...claims }).setProtectedHeader({ ...header, alg: 'ES256' }).sign(attacker.privateKey);
        } catch {
          return; // jose will not produce this header (b64 without crit): nothing to send
        }
        const r = await verdict(token);
        assert.equal(r.kind, 'invalid', `a forged token was accepted: ${token}`);
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
