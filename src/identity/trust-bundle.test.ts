// Trust bundles: PEM and SPIFFE bundle (JWKS) round trips, strict reading with errors that name the
// key and member, and the per-trust-domain set.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { JWK } from 'jose';
import { WeftError } from '../lib/errors.js';
import { TestPki, type TestCert } from '../../test/helpers/pki.js';
import { PemError, SpiffeIdError, TrustBundleError } from './errors.js';
import { bundleFromJwks, bundleToJwks } from './bundle-jwks.js';
import { parseCertificatesPem } from './pem.js';
import { bundleFromPem, bundleToPem, createTrustBundle, rootFingerprint, TrustBundleSet, type TrustBundle } from './trust-bundle.js';

const pki = new TestPki({ now: Date.UTC(2026, 0, 1) });
let rootA: TestCert;
let rootB: TestCert;
let rsaRoot: TestCert;
let edRoot: TestCert;
let leaf: TestCert;
const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK;
const rsaJwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as JWK;

before(async () => {
  rootA = await pki.root('example.org');
  rootB = await pki.root('example.org', { subject: 'CN=example.org root 2', keyType: 'EC P-384' });
  rsaRoot = await pki.root('example.org', { subject: 'CN=example.org rsa root', keyType: 'RSA 2048' });
  edRoot = await pki.root('example.org', { subject: 'CN=example.org ed25519 root', keyType: 'Ed25519' });
  leaf = await pki.leaf(rootA, 'spiffe://example.org/web');
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return assert.fail('expected an error');
}

describe('PEM bundles', () => {
  test('ok/several roots round-trip in order', () => {
    const b = bundleFromPem('example.org', rootA.pem + rootB.pem + rsaRoot.pem);
    assert.deepEqual(b.x509Authorities, [rootA.der, rootB.der, rsaRoot.der]);
    assert.equal(bundleToPem(b), rootA.pem + rootB.pem + rsaRoot.pem);
    assert.deepEqual(bundleFromPem('example.org', bundleToPem(b)), b);
  });

  test('ok/comments, CRLF line ends and openssl text around the blocks are fine', () => {
    const text = `# example.org roots\r\nsubject=CN = example.org root\r\n${rootA.pem.replaceAll('\n', '\r\n')}\r\n\r\n${rootB.pem}trailing words\n`;
    assert.deepEqual(bundleFromPem('example.org', text).x509Authorities, [rootA.der, rootB.der]);
  });

  test('ok/the same root twice counts once', () => {
    assert.equal(bundleFromPem('example.org', rootA.pem + rootA.pem).x509Authorities.length, 1);
  });

  const bad: { name: string; pem: () => string; message: string; keyIndex?: number }[] = [
    { name: 'fail/empty text', pem: () => '', message: 'no PEM CERTIFICATE block found' },
    { name: 'fail/garbage', pem: () => 'hello world\n', message: 'no PEM CERTIFICATE block found' },
    { name: 'fail/a private key block', pem: () => rootA.pem + rootA.keyPem, message: 'PEM block 2 is a PRIVATE KEY, only CERTIFICATE blocks are allowed', keyIndex: 1 },
    { name: 'fail/a leaf certificate', pem: () => rootA.pem + leaf.pem, message: 'PEM block 2 is not a CA certificate', keyIndex: 1 },
    { name: 'fail/BEGIN without END', pem: () => rootA.pem + '-----BEGIN CERTIFICATE-----\nMIIB\n', message: 'PEM block 2 has a BEGIN line without a matching END line' },
    { name: 'fail/BEGIN without END before another block', pem: () => `-----BEGIN CERTIFICATE-----\nMIIB\n${rootA.pem}`, message: 'PEM block 1 has a BEGIN line without a matching END line' },
    { name: 'fail/labels that do not match', pem: () => rootA.pem.replace('END CERTIFICATE', 'END X509 CRL'), message: 'begins as CERTIFICATE but ends as X509 CRL' },
    { name: 'fail/bad base64', pem: () => rootA.pem.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'), message: 'PEM block 1 is not valid base64' },
    { name: 'fail/headers in the block', pem: () => rootA.pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'), message: 'has headers' },
    {
      name: 'fail/base64 that is not a certificate',
      pem: () => `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate at all').toString('base64')}\n-----END CERTIFICATE-----\n`,
      message: 'PEM block 1 does not hold a valid X.509 certificate',
    },
  ];
  for (const c of bad) {
    test(c.name, () => {
      const err = errorOf(() => bundleFromPem('example.org', c.pem()));
      assert.ok(err instanceof TrustBundleError, String(err));
      assert.equal(err.code, 'WEFT_BUNDLE_INVALID');
      assert.ok(err.message.startsWith('invalid trust bundle for example.org: '), err.message);
      assert.ok(err.message.includes(c.message), err.message);
      if (c.keyIndex !== undefined) assert.equal(err.keyIndex, c.keyIndex);
    });
  }

  test('fail/an invalid trust domain', () => {
    assert.throws(() => bundleFromPem('Example.org', rootA.pem), (err: unknown) => err instanceof SpiffeIdError && err.code === 'WEFT_TRUST_DOMAIN_INVALID');
  });
});

describe('parseCertificatesPem', () => {
  test('ok/returns the DER of each block, leaf first', () => {
    assert.deepEqual(parseCertificatesPem(leaf.pem + rootA.pem), [leaf.der, rootA.der]);
  });

  test('fail/codes and block numbers', () => {
    const err = errorOf(() => parseCertificatesPem(leaf.pem + leaf.keyPem));
    assert.ok(err instanceof PemError);
    assert.equal(err.code, 'WEFT_PEM_INVALID');
    assert.equal(err.block, 2);
    assert.throws(() => parseCertificatesPem('garbage'), { code: 'WEFT_PEM_INVALID', message: /^no PEM CERTIFICATE block found/ });
    assert.throws(() => parseCertificatesPem(42 as unknown as string), TypeError);
  });
});

describe('rootFingerprint', () => {
  test('is sha256: and the lowercase hex of the DER, as openssl and node print it without colons', () => {
    const fp = rootFingerprint(rootA.der);
    assert.match(fp, /^sha256:[0-9a-f]{64}$/);
    assert.equal(fp, `sha256:${createHash('sha256').update(rootA.der).digest('hex')}`);
    assert.equal(fp, `sha256:${new X509Certificate(rootA.der).fingerprint256.replaceAll(':', '').toLowerCase()}`);
  });
});

describe('SPIFFE bundle (JWKS)', () => {
  const full = (): TrustBundle =>
    createTrustBundle({
      trustDomain: 'example.org',
      x509Authorities: [rootA.der, rootB.der, rsaRoot.der, edRoot.der],
      jwtAuthorities: [
        { keyId: 'ec-1', publicKey: ecJwk },
        { keyId: 'rsa-1', publicKey: { ...rsaJwk, alg: 'RS256' } },
      ],
      sequence: 7,
      refreshHintSeconds: 300,
    });

  test('ok/several roots and JWT keys round-trip', () => {
    const b = full();
    const again = bundleFromJwks('example.org', bundleToJwks(b));
    assert.deepEqual(again, b);
    assert.deepEqual(bundleFromJwks('example.org', bundleToJwks(again)), b);
  });

  test('ok/writes the SPIFFE bundle shape', () => {
    const doc = JSON.parse(bundleToJwks(full())) as { spiffe_sequence: number; spiffe_refresh_hint: number; keys: Record<string, unknown>[] };
    assert.equal(doc.spiffe_sequence, 7);
    assert.equal(doc.spiffe_refresh_hint, 300);
    const [a, b, r, ed, j1, j2] = doc.keys;
    assert.deepEqual([ed!.kty, ed!.crv], ['OKP', 'Ed25519']);
    assert.deepEqual(Object.keys(a!).sort(), ['crv', 'kty', 'use', 'x', 'x5c', 'y']);
    assert.equal(a!.use, 'x509-svid');
    assert.deepEqual(a!.x5c, [rootA.der.toString('base64')]);
    assert.equal(b!.crv, 'P-384');
    assert.equal(r!.kty, 'RSA');
    assert.ok(typeof r!.n === 'string' && r!.e === 'AQAB');
    assert.equal(a!.kid, undefined);
    assert.deepEqual([j1!.use, j1!.kid, j2!.kid, j2!.alg], ['jwt-svid', 'ec-1', 'rsa-1', 'RS256']);
  });

  test('ok/a sequence beyond 2^53 keeps every digit', () => {
    const sequence = 2n ** 64n - 1n;
    const b = createTrustBundle({ trustDomain: 'example.org', x509Authorities: [rootA.der], sequence });
    const text = bundleToJwks(b);
    assert.match(text, /"spiffe_sequence": 18446744073709551615,/);
    assert.equal(bundleFromJwks('example.org', text).sequence, sequence);
    assert.equal(bundleFromJwks('example.org', '{"keys":[],"spiffe_sequence":9007199254740993}').sequence, 9007199254740993n);
  });

  test('ok/reads a hand-written bundle with extra members, no sequence and no hint', () => {
    const text = JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', x5c: [rootA.der.toString('base64')] }], note: 'ignored', spiffe_other: 1 });
    const b = bundleFromJwks('example.org', text);
    assert.deepEqual(b.x509Authorities, [rootA.der]);
    assert.equal(b.sequence, undefined);
    assert.equal(b.refreshHintSeconds, undefined);
    assert.deepEqual(bundleFromJwks('example.org', '{"keys":[]}').x509Authorities, []);
  });

  test('ok/entries the spec says to ignore are ignored', () => {
    const x5c = [rootA.der.toString('base64')];
    const text = JSON.stringify({
      keys: [
        { kty: 'EC', use: 'x509-svid' },
        { kty: 'EC', use: 'x509-svid', x5c: [] },
        { kty: 'EC', use: 'x509-svid', x5c: [rootB.der.toString('base64'), rootA.der.toString('base64')] },
        { kty: 'XYZ', use: 'x509-svid', x5c },
        { kty: 'EC', use: 'wit-svid', kid: 'w', crv: 'P-256' },
      ],
    });
    assert.deepEqual(bundleFromJwks('example.org', text).x509Authorities, [rootB.der]);
  });

  const x509Key = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ kty: 'EC', use: 'x509-svid', x5c: [rootA.der.toString('base64')], ...over });
  const jwtKey = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ ...ecJwk, use: 'jwt-svid', kid: 'k1', ...over });
  const keysDoc = (...keys: unknown[]): string => JSON.stringify({ keys });
  const base64url = (der: Buffer): string => der.toString('base64url');

  const bad: { name: string; json: () => string; message: string; keyIndex?: number; field?: string }[] = [
    { name: 'fail/not JSON', json: () => '{"keys": [', message: 'not valid JSON' },
    { name: 'fail/a JSON array', json: () => '[]', message: 'a SPIFFE bundle must be a JSON object' },
    { name: 'fail/JSON null', json: () => 'null', message: 'must be a JSON object' },
    { name: 'fail/keys missing', json: () => '{}', message: '"keys" is missing', field: 'keys' },
    { name: 'fail/keys not an array', json: () => '{"keys": {}}', message: '"keys" must be an array', field: 'keys' },
    { name: 'fail/a key that is not an object', json: () => keysDoc(x509Key(), 'x'), message: 'keys[1] must be a JSON object', keyIndex: 1 },
    { name: 'fail/kty missing', json: () => keysDoc(x509Key({ kty: undefined })), message: 'keys[0].kty is missing', keyIndex: 0, field: 'kty' },
    { name: 'fail/use missing', json: () => keysDoc(x509Key({ use: undefined })), message: 'keys[0].use is missing', field: 'use' },
    { name: 'fail/use not a string', json: () => keysDoc(x509Key({ use: 1 })), message: 'keys[0].use must be a string', field: 'use' },
    { name: 'fail/unknown use', json: () => keysDoc(x509Key(), x509Key({ use: 'X509-SVID' })), message: 'keys[1].use is "X509-SVID", expected "x509-svid" or "jwt-svid"', keyIndex: 1 },
    { name: 'fail/x509-svid key with kid', json: () => keysDoc(x509Key({ kid: 'a' })), message: 'keys[0].kid must not be set on an x509-svid key', field: 'kid' },
    { name: 'fail/x5c not an array', json: () => keysDoc(x509Key({ x5c: rootA.der.toString('base64') })), message: 'keys[0].x5c must be an array', field: 'x5c' },
    { name: 'fail/x5c[0] not a string', json: () => keysDoc(x509Key({ x5c: [1] })), message: 'keys[0].x5c[0] is not standard', field: 'x5c[0]' },
    { name: 'fail/x5c[0] in base64url', json: () => keysDoc(x509Key({ x5c: [base64url(rootA.der)] })), message: 'keys[0].x5c[0] is not standard (RFC 4648 §4, padded) base64' },
    { name: 'fail/x5c[0] with line breaks', json: () => keysDoc(x509Key({ x5c: [rootA.pem.split('\n').slice(1, -2).join('\n')] })), message: 'is not standard' },
    { name: 'fail/x5c[0] not a certificate', json: () => keysDoc(x509Key({ x5c: ['AAAA'] })), message: 'keys[0].x5c[0] is not a valid X.509 certificate', field: 'x5c[0]' },
    { name: 'fail/x5c[0] a leaf, not a CA', json: () => keysDoc(x509Key({ x5c: [leaf.der.toString('base64')] })), message: 'keys[0].x5c[0] is not a CA certificate' },
    { name: 'fail/kty not the key type of the certificate', json: () => keysDoc(x509Key({ kty: 'RSA' })), message: 'keys[0].kty is "RSA" but the x5c certificate holds a EC key' },
    { name: 'fail/key members not those of the certificate', json: () => keysDoc(x509Key({ x: ecJwk.x })), message: 'keys[0].x does not match the public key of the x5c certificate', field: 'x' },
    { name: 'fail/private key material', json: () => keysDoc(jwtKey({ d: 'AAAA' })), message: 'keys[0].d is private key material', field: 'd' },
    { name: 'fail/jwt-svid key without kid', json: () => keysDoc(jwtKey({ kid: undefined })), message: 'keys[0].kid is missing or empty', field: 'kid' },
    { name: 'fail/jwt-svid key with an empty kid', json: () => keysDoc(jwtKey({ kid: '' })), message: 'keys[0].kid is missing or empty' },
    { name: 'fail/duplicate kid', json: () => keysDoc(jwtKey(), x509Key(), jwtKey({ ...rsaJwk, kty: 'RSA' })), message: 'keys[2]: kid "k1" is used by an earlier key', keyIndex: 2, field: 'kid' },
    { name: 'fail/jwt-svid key that is not a usable key', json: () => keysDoc(jwtKey({ x: 'AAAA' })), message: 'keys[0].kty does not describe a usable public key' },
    { name: 'fail/jwt-svid key missing a member', json: () => keysDoc(jwtKey({ y: undefined })), message: 'keys[0].y does not describe a usable public key', field: 'y' },
    { name: 'fail/negative sequence', json: () => '{"keys":[],"spiffe_sequence":-1}', message: 'spiffe_sequence must be an integer from 0 to 2^64-1, got -1', field: 'spiffe_sequence' },
    { name: 'fail/fractional sequence', json: () => '{"keys":[],"spiffe_sequence":1.5}', message: 'spiffe_sequence must be an integer' },
    { name: 'fail/sequence as a string', json: () => '{"keys":[],"spiffe_sequence":"7"}', message: 'got "7"' },
    { name: 'fail/sequence beyond uint64', json: () => '{"keys":[],"spiffe_sequence":18446744073709551616}', message: 'spiffe_sequence must be an integer' },
    { name: 'fail/huge sequence in exponent form', json: () => '{"keys":[],"spiffe_sequence":1e30}', message: 'spiffe_sequence must be an integer' },
    { name: 'fail/negative refresh hint', json: () => '{"keys":[],"spiffe_refresh_hint":-5}', message: 'spiffe_refresh_hint must be a whole number of seconds', field: 'spiffe_refresh_hint' },
    { name: 'fail/refresh hint as a string', json: () => '{"keys":[],"spiffe_refresh_hint":"5m"}', message: 'spiffe_refresh_hint must be a whole number' },
    { name: 'fail/fractional refresh hint', json: () => '{"keys":[],"spiffe_refresh_hint":0.5}', message: 'spiffe_refresh_hint must be a whole number' },
  ];
  for (const c of bad) {
    test(c.name, () => {
      const err = errorOf(() => bundleFromJwks('example.org', c.json()));
      assert.ok(err instanceof TrustBundleError, String(err));
      assert.equal(err.code, 'WEFT_BUNDLE_INVALID');
      assert.ok(err.message.includes(c.message), err.message);
      assert.ok(err.message.startsWith('invalid trust bundle for example.org: '), err.message);
      if (c.keyIndex !== undefined) assert.equal(err.keyIndex, c.keyIndex);
      if (c.field !== undefined) assert.equal(err.field, c.field);
    });
  }

  test('the base64url vector really differs from standard base64', () => {
    assert.notEqual(base64url(rootA.der), rootA.der.toString('base64').replace(/=+$/, ''));
  });

  test('fail/an invalid trust domain', () => {
    assert.throws(() => bundleFromJwks('exa mple', '{"keys":[]}'), { code: 'WEFT_TRUST_DOMAIN_INVALID' });
  });

  test('random JSON never crashes the reader with anything but a WeftError', () => {
    const x5c = fc.oneof(fc.constant(rootA.der.toString('base64')), fc.constant(leaf.der.toString('base64')), fc.base64String(), fc.string());
    const keyArb = fc.record(
      {
        kty: fc.oneof(fc.constantFrom('EC', 'RSA', 'OKP', 'oct'), fc.jsonValue()),
        use: fc.oneof(fc.constantFrom('x509-svid', 'jwt-svid', 'wit-svid'), fc.jsonValue()),
        kid: fc.oneof(fc.string(), fc.jsonValue()),
        x5c: fc.oneof(fc.array(x5c, { maxLength: 2 }), fc.jsonValue()),
        crv: fc.oneof(fc.constantFrom('P-256', 'P-384'), fc.string()),
        x: fc.oneof(fc.constant(ecJwk.x), fc.string()),
        y: fc.oneof(fc.constant(ecJwk.y), fc.string()),
        n: fc.string(),
        e: fc.constantFrom('AQAB', '', 'AA'),
      },
      { requiredKeys: [] },
    );
    const doc = fc.oneof(
      fc.json(),
      fc.record({ keys: fc.array(fc.oneof(keyArb, fc.jsonValue()), { maxLength: 4 }), spiffe_sequence: fc.jsonValue(), spiffe_refresh_hint: fc.jsonValue() }, { requiredKeys: ['keys'] }).map((d) => JSON.stringify(d)),
      fc.string(),
    );
    fc.assert(
      fc.property(doc, (text) => {
        try {
          const b = bundleFromJwks('example.org', text);
          assert.deepEqual(bundleFromJwks('example.org', bundleToJwks(b)), b);
        } catch (err) {
          if (!(err instanceof WeftError)) throw err;
          assert.equal(err.code, 'WEFT_BUNDLE_INVALID');
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('createTrustBundle', () => {
  test('freezes what it returns', () => {
    const b = createTrustBundle({ trustDomain: 'example.org', x509Authorities: [rootA.der], jwtAuthorities: [{ keyId: 'a', publicKey: ecJwk }] });
    assert.ok(Object.isFrozen(b) && Object.isFrozen(b.x509Authorities) && Object.isFrozen(b.jwtAuthorities[0]!.publicKey));
  });

  test('fail/refuses a non-CA authority, a duplicate key id, an empty key id and out-of-range numbers', () => {
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', x509Authorities: [leaf.der] }), { code: 'WEFT_BUNDLE_INVALID', message: /X\.509 authority 1 is not a CA certificate/ });
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', x509Authorities: [Buffer.from('junk')] }), { message: /X\.509 authority 1 is not a valid X\.509 certificate/ });
    const k = { keyId: 'a', publicKey: ecJwk };
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', jwtAuthorities: [k, k] }), { message: /JWT key id "a" appears twice/ });
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', jwtAuthorities: [{ keyId: '', publicKey: ecJwk }] }), { message: /JWT authority 1 has no key id/ });
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', sequence: -1 }), { message: /spiffe_sequence/ });
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', sequence: 2n ** 64n }), { message: /spiffe_sequence/ });
    assert.throws(() => createTrustBundle({ trustDomain: 'example.org', refreshHintSeconds: 1.5 }), { message: /spiffe_refresh_hint/ });
  });
});

describe('TrustBundleSet', () => {
  test('keeps one bundle per trust domain', () => {
    const a = createTrustBundle({ trustDomain: 'a.org', x509Authorities: [rootA.der] });
    const b = createTrustBundle({ trustDomain: 'b.org', x509Authorities: [rootB.der] });
    const set = new TrustBundleSet([a]);
    assert.equal(set.get('a.org'), a);
    assert.equal(set.get('b.org'), undefined);
    assert.equal(set.set(b).size, 2);
    assert.deepEqual(set.trustDomains(), ['a.org', 'b.org']);
    assert.deepEqual([...set], [a, b]);
    const a2 = createTrustBundle({ trustDomain: 'a.org', x509Authorities: [rootB.der] });
    set.set(a2);
    assert.equal(set.get('a.org'), a2);
    assert.equal(set.delete('b.org'), true);
    assert.equal(set.has('b.org'), false);
    assert.equal(set.size, 1);
  });

  test('fail/two bundles for one trust domain at construction', () => {
    const a = createTrustBundle({ trustDomain: 'a.org' });
    assert.throws(() => new TrustBundleSet([a, a]), TypeError);
  });
});
