// Broken data directories and plug-in directories: each is refused when the CA opens, with its own
// code and the file at fault named, and nothing is ever signed with what it holds.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { CertificateAuthority } from './certificate-authority.js';
import { CaError, type CaErrorCode } from './errors.js';
import { cleanupAll, newCa, pluginCa, scratch, T0, TD, writePluginFiles, type PluginCa } from './testing/fixtures.js';
import { TestPki, type TestCert } from '../../test/helpers/pki.js';

after(cleanupAll);
const pki = new TestPki({ now: T0 });
const clock = new FrozenClock(T0);

interface BrokenCase {
  name: string;
  /** Breaks a working CA directory (`ca` is <data-dir>/ca); returns nothing. */
  breakIt: (ca: string) => void | Promise<void>;
  code: CaErrorCode;
  /** The file the error names, relative to <data-dir>/ca. */
  file: string;
  message: RegExp;
}

function expectRefusal(fn: () => unknown, c: { code: CaErrorCode; message: RegExp }, file: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CaError, `expected ${c.code}, got ${String(caught)}`);
  assert.equal(caught.code, c.code, caught.message);
  assert.equal(caught.file, file);
  assert.ok(caught.message.includes(file), `the message names ${file}: ${caught.message}`);
  assert.match(caught.message, c.message);
}

const otherP256Key = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** Private keys of every type the CA cannot sign with, as the error names them. */
const UNSUPPORTED_KEYS: Record<string, () => KeyPairKeyObjectResult> = {
  Ed25519: () => generateKeyPairSync('ed25519'),
  'DSA 1024': () => generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }),
  'RSA 1024': () => generateKeyPairSync('rsa', { modulusLength: 1024 }),
  'RSA-PSS 2048': () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }),
  'EC P-521': () => generateKeyPairSync('ec', { namedCurve: 'secp521r1' }),
  'EC secp256k1': () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
};
const unsupportedKeyPem = (type: string) => UNSUPPORTED_KEYS[type]!().privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const keyTypeMessage = (type: string) => new RegExp(`holds a key of type ${type}: the CA signs only with ECDSA P-256, ECDSA P-384 or RSA of at least 2048 bits$`);

/** Rewrites cert-chain.pem from its own certificates (signer, mid, root: a depth-2 plug-in), reordered or added to by `order`. */
function rewriteChain(ca: string, order: (certs: string[]) => string[]): void {
  const certs = readFileSync(join(ca, 'cert-chain.pem'), 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g)!;
  assert.equal(certs.length, 3);
  writeFileSync(join(ca, 'cert-chain.pem'), order(certs).join(''));
}
const CHAIN_ORDER = /cert-chain\.pem must run from ca-cert\.pem up to the root, each certificate followed by its issuer, and hold nothing else$/;

/** A self-signed certificate that is not a CA, with its key: the wrong thing where a signer belongs. */
let selfLeaf: TestCert;
let otherRoot: TestCert;
before(async () => {
  selfLeaf = await pki.leaf('self', `spiffe://${TD}/ns/default/sa/web`);
  otherRoot = await pki.root(TD, { subject: 'CN=another root, O=weft test' });
});

const SELF_SIGNED: BrokenCase[] = [
  {
    name: 'fail/corrupted root-key.pem',
    file: 'root-key.pem',
    code: 'WEFT_CA_FILE_INVALID',
    message: /does not hold a valid private key \(it may be corrupted\)$/,
    breakIt: (ca) => {
      const pem = readFileSync(join(ca, 'root-key.pem'), 'utf8');
      writeFileSync(join(ca, 'root-key.pem'), pem.slice(0, 60) + 'AAAA' + pem.slice(64));
    },
  },
  { name: 'fail/root-key.pem emptied', file: 'root-key.pem', code: 'WEFT_CA_FILE_INVALID', message: /does not hold a valid private key/, breakIt: (ca) => writeFileSync(join(ca, 'root-key.pem'), '') },
  { name: 'fail/root-key.pem deleted (unreadable)', file: 'root-key.pem', code: 'WEFT_CA_FILE_UNREADABLE', message: /^cannot read .*: ENOENT$/, breakIt: (ca) => rmSync(join(ca, 'root-key.pem')) },
  { name: 'fail/root-cert.pem deleted (unreadable)', file: 'root-cert.pem', code: 'WEFT_CA_FILE_UNREADABLE', message: /^cannot read .*: ENOENT$/, breakIt: (ca) => rmSync(join(ca, 'root-cert.pem')) },
  {
    name: 'fail/root-cert.pem is not PEM certificates',
    file: 'root-cert.pem',
    code: 'WEFT_CA_FILE_INVALID',
    message: /does not hold valid PEM certificates/,
    breakIt: (ca) => writeFileSync(join(ca, 'root-cert.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 DER\n-----END CERTIFICATE-----\n'),
  },
  { name: 'fail/root-key.pem holds the key of another root', file: 'root-key.pem', code: 'WEFT_CA_KEY_MISMATCH', message: /is not the key of .*root-cert\.pem$/, breakIt: (ca) => writeFileSync(join(ca, 'root-key.pem'), otherP256Key()) },
  {
    name: 'fail/a leaf certificate (with its own key) where the root should be',
    file: 'root-cert.pem',
    code: 'WEFT_CA_SIGNER_NOT_CA',
    message: /is not a CA certificate with keyCertSign \(subject CN=web, O=weft test\)$/,
    breakIt: (ca) => {
      writeFileSync(join(ca, 'root-cert.pem'), selfLeaf.pem);
      writeFileSync(join(ca, 'root-key.pem'), selfLeaf.keyPem);
    },
  },
  { name: 'fail/ca.json is not JSON', file: 'ca.json', code: 'WEFT_CA_FILE_INVALID', message: /is not valid JSON$/, breakIt: (ca) => writeFileSync(join(ca, 'ca.json'), '{"trustDomain": "example.org",') },
  { name: 'fail/ca.json has an unknown mode', file: 'ca.json', code: 'WEFT_CA_FILE_INVALID', message: /must hold "trustDomain" and "mode"/, breakIt: (ca) => writeFileSync(join(ca, 'ca.json'), '{"trustDomain": "example.org", "mode": "vault"}') },
  { name: 'fail/ca.json is JSON null', file: 'ca.json', code: 'WEFT_CA_FILE_INVALID', message: /must hold "trustDomain" and "mode"/, breakIt: (ca) => writeFileSync(join(ca, 'ca.json'), 'null') },
  {
    name: 'fail/ca.json holds an invalid trust domain',
    file: 'ca.json',
    code: 'WEFT_CA_FILE_INVALID',
    message: /holds an invalid "trustDomain": .*trust domain must be lowercase/,
    breakIt: (ca) => writeFileSync(join(ca, 'ca.json'), '{"trustDomain": "Example.ORG", "mode": "self-signed"}'),
  },
  {
    name: 'fail/ca.json unreadable (a directory in its place)',
    file: 'ca.json',
    code: 'WEFT_CA_FILE_UNREADABLE',
    message: /^cannot read .*: EISDIR$/,
    breakIt: (ca) => {
      rmSync(join(ca, 'ca.json'));
      mkdirSync(join(ca, 'ca.json'));
    },
  },
  ...['Ed25519', 'RSA 1024'].map(
    (type): BrokenCase => ({ name: `fail/root-key.pem holds a key of type ${type}`, file: 'root-key.pem', code: 'WEFT_CA_UNSUPPORTED_KEY', message: keyTypeMessage(type), breakIt: (ca) => writeFileSync(join(ca, 'root-key.pem'), unsupportedKeyPem(type)) }),
  ),
];

const PLUGIN: BrokenCase[] = [
  ...(['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const).map(
    (f): BrokenCase => ({ name: `fail/plug-in missing ${f}`, file: f, code: 'WEFT_CA_FILE_UNREADABLE', message: /is missing: an intermediate needs ca-cert\.pem, ca-key\.pem, root-cert\.pem, cert-chain\.pem$/, breakIt: (ca) => rmSync(join(ca, f)) }),
  ),
  { name: 'fail/plug-in ca-key.pem of another key', file: 'ca-key.pem', code: 'WEFT_CA_KEY_MISMATCH', message: /is not the key of .*ca-cert\.pem$/, breakIt: (ca) => writeFileSync(join(ca, 'ca-key.pem'), otherP256Key()) },
  {
    name: 'fail/plug-in ca-cert.pem is a leaf (with its key)',
    file: 'ca-cert.pem',
    code: 'WEFT_CA_SIGNER_NOT_CA',
    message: /is not a CA certificate with keyCertSign/,
    breakIt: (ca) => {
      writeFileSync(join(ca, 'ca-cert.pem'), selfLeaf.pem);
      writeFileSync(join(ca, 'ca-key.pem'), selfLeaf.keyPem);
    },
  },
  ...Object.keys(UNSUPPORTED_KEYS).map(
    (type): BrokenCase => ({ name: `fail/plug-in ca-key.pem holds a key of type ${type}`, file: 'ca-key.pem', code: 'WEFT_CA_UNSUPPORTED_KEY', message: keyTypeMessage(type), breakIt: (ca) => writeFileSync(join(ca, 'ca-key.pem'), unsupportedKeyPem(type)) }),
  ),
  ...(
    [
      ['a stray certificate after the root', ([signer, mid, root]) => [signer, mid, root, otherRoot.pem], /certificate 4 \(CN=another root, O=weft test\) comes after the root; /],
      ['a stray certificate between the signer and its issuer', ([signer, mid, root]) => [signer, selfLeaf.pem, mid, root], /certificate 2 \(CN=web, O=weft test\) did not issue the certificate before it \(CN=intermediate /],
      ['the root before the intermediate', ([signer, mid, root]) => [signer, root, mid], /certificate 2 \(CN=example\.org root, O=weft test\) did not issue the certificate before it/],
      ['upside down', ([signer, mid, root]) => [root, mid, signer], /certificate 1 \(CN=example\.org root, O=weft test\) did not issue the certificate before it/],
      ['the signer twice', ([signer, mid, root]) => [signer, signer, mid, root], /certificate 2 \(CN=intermediate .*\) did not issue the certificate before it/],
    ] as [string, (chain: [string, string, string]) => string[], RegExp][]
  ).map(
    ([what, order, message]): BrokenCase => ({
      name: `fail/plug-in cert-chain.pem with ${what}`,
      file: 'cert-chain.pem',
      code: 'WEFT_CA_CHAIN_INVALID',
      message: new RegExp(`${message.source}.*${CHAIN_ORDER.source}`),
      breakIt: (ca) => rewriteChain(ca, (certs) => order(certs as [string, string, string])),
    }),
  ),
  {
    name: 'fail/plug-in root-cert.pem holds another root than the chain leads to',
    file: 'cert-chain.pem',
    code: 'WEFT_CA_CHAIN_INVALID',
    message: /does not lead to a certificate of root-cert\.pem: the chain is incomplete or signed by another root$/,
    breakIt: (ca) => writeFileSync(join(ca, 'root-cert.pem'), otherRoot.pem),
  },
];

/** cert-chain.pem naming an intermediate of another root, and root-cert.pem that root: the signer's own issuer is missing. */
const ANOTHER_ROOT = {
  name: 'fail/plug-in cert-chain.pem leading to another root',
  file: 'cert-chain.pem',
  code: 'WEFT_CA_CHAIN_INVALID',
  message: new RegExp(`certificate 2 \\(CN=intermediate .*\\) did not issue the certificate before it .*${CHAIN_ORDER.source}`),
} as const;

/** A plug-in whose cert-chain.pem leads to another root: the signer's own issuer is not in it. */
async function chainToAnotherRoot(plugin: PluginCa<TestCert>, dir: string): Promise<void> {
  const strangerMid = await pki.intermediate(otherRoot);
  writePluginFiles(dir, { signer: plugin.chain[0]!, chain: [plugin.chain[0]!, strangerMid], root: otherRoot });
}

describe('a broken self-signed data directory is refused at open', () => {
  for (const c of SELF_SIGNED) {
    test(c.name, async () => {
      const { dir } = newCa();
      const caDir = join(dir, 'ca');
      await c.breakIt(caDir);
      expectRefusal(() => CertificateAuthority.open(dir, { clock }), c, join(caDir, c.file));
    });
  }
});

describe('a broken plug-in data directory is refused at open', () => {
  for (const c of PLUGIN) {
    test(c.name, async () => {
      const plugin = await pluginCa(pki, { depth: 2 });
      const dir = scratch();
      CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock });
      const caDir = join(dir, 'ca');
      await c.breakIt(caDir);
      expectRefusal(() => CertificateAuthority.open(dir, { clock }), c, join(caDir, c.file));
    });
  }

  test(ANOTHER_ROOT.name, async () => {
    const plugin = await pluginCa(pki, { depth: 2 });
    const dir = scratch();
    CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock });
    await chainToAnotherRoot(plugin, join(dir, 'ca'));
    expectRefusal(() => CertificateAuthority.open(dir, { clock }), ANOTHER_ROOT, join(dir, 'ca', 'cert-chain.pem'));
  });
});

describe('a broken plug-in source directory is refused by initFromPlugin, leaving no CA behind', () => {
  for (const c of [...PLUGIN, { ...ANOTHER_ROOT, breakIt: undefined }]) {
    test(c.name, async () => {
      const plugin = await pluginCa(pki, { depth: 2 });
      if (c.breakIt) await c.breakIt(plugin.dir);
      else await chainToAnotherRoot(plugin, plugin.dir);
      const dir = scratch();
      expectRefusal(() => CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock }), c, join(plugin.dir, c.file));
      assert.equal(existsSync(join(dir, 'ca')), false);
      assert.throws(() => CertificateAuthority.open(dir), { code: 'WEFT_CA_NOT_INITIALISED' });
    });
  }
});

describe('a plug-in intermediate whose certificate and key are of a type the CA cannot sign with', () => {
  for (const keyType of ['Ed25519', 'RSA 1024'] as const) {
    test(`fail/an ${keyType} intermediate is refused by initFromPlugin, not at its first signature`, async () => {
      const root = await pki.root(TD);
      const signer = await pki.intermediate(root, { uris: [`spiffe://${TD}`], keyType });
      const source = scratch('weft-plugin-');
      writePluginFiles(source, { signer, chain: [signer], root });
      const dir = scratch();
      expectRefusal(() => CertificateAuthority.initFromPlugin(dir, source, { clock }), { code: 'WEFT_CA_UNSUPPORTED_KEY', message: keyTypeMessage(keyType) }, join(source, 'ca-key.pem'));
      assert.equal(existsSync(join(dir, 'ca')), false);
    });
  }
});
