// Issued X.509-SVIDs as the real openssl sees them: `openssl x509 -text` shows the expected
// extensions, and `openssl verify -x509_strict` accepts the leaf (with its chain) against the
// bundle, for a self-signed CA and for plug-in intermediates. openssl must be installed: these
// tests fail, never skip, without it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import { CertificateAuthority, type IssuedSvid } from './certificate-authority.js';
import { cleanupAll, CRED, ID, makeCsr, newCa, pluginCa, scratch, T0, TD, type CsrKeyType } from './testing/fixtures.js';
import { TestPki } from '../../test/helpers/pki.js';

const OPENSSL = '/usr/bin/openssl';
const AT = String(Math.floor(T0 / 1000));
after(cleanupAll);
const pki = new TestPki({ now: T0 });
const modes: { name: string; ca: CertificateAuthority; intermediates: number }[] = [];
let work: string;

before(async () => {
  assert.ok(existsSync(OPENSSL), `these tests need openssl at ${OPENSSL}; install it (apt-get install openssl) rather than skipping them`);
  work = scratch('weft-ca-openssl-');
  modes.push({ name: 'self-signed', ca: newCa().ca, intermediates: 0 });
  for (const depth of [1, 2]) {
    const plugin = await pluginCa(pki, { depth });
    modes.push({ name: `plug-in, ${depth} intermediate(s)`, ca: CertificateAuthority.initFromPlugin(scratch(), plugin.dir, { clock: new FrozenClock(T0) }), intermediates: depth });
  }
});

/**
 * Runs openssl with no stdin. (test/helpers/cli.ts runCommand writes an empty stdin, which races
 * openssl's exit and can fail a test with EPIPE.)
 */
function runOpenssl(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(OPENSSL, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let n = 0;
/** Writes leaf, chain and bundle files for openssl; returns their paths. */
function files(svid: IssuedSvid): { leaf: string; chain?: string; bundle: string } {
  const base = join(work, `svid${n++}`);
  writeFileSync(`${base}-leaf.pem`, svid.leafPem);
  writeFileSync(`${base}-bundle.pem`, svid.bundlePem);
  if (svid.chainPem.length === 0) return { leaf: `${base}-leaf.pem`, bundle: `${base}-bundle.pem` };
  writeFileSync(`${base}-chain.pem`, svid.chainPem.join(''));
  return { leaf: `${base}-leaf.pem`, chain: `${base}-chain.pem`, bundle: `${base}-bundle.pem` };
}

async function opensslVerify(f: { leaf: string; chain?: string; bundle: string }, extra: string[] = []): Promise<{ ok: boolean; out: string }> {
  const args = ['verify', '-x509_strict', '-attime', AT, ...extra, '-CAfile', f.bundle, ...(f.chain ? ['-untrusted', f.chain] : []), f.leaf];
  const r = await runOpenssl(args);
  return { ok: r.code === 0 && r.stdout.trim() === `${f.leaf}: OK`, out: r.stdout + r.stderr };
}

/** The Subject line and the lines from "X509v3 extensions:" to the signature, trimmed, key ids elided. */
async function extensionText(leaf: string): Promise<string[]> {
  const r = await runOpenssl(['x509', '-text', '-noout', '-in', leaf]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').map((l) => l.trim());
  const from = lines.indexOf('X509v3 extensions:');
  const to = lines.findIndex((l, i) => i > from && l.startsWith('Signature Algorithm:'));
  assert.ok(from > 0 && to > from, r.stdout);
  const subject = lines.find((l) => l.startsWith('Subject:'))!;
  return [subject, ...lines.slice(from + 1, to)].map((l) => (/^[0-9A-F]{2}(:[0-9A-F]{2}){19}$/.test(l) ? '<key id>' : l));
}

const EXPECTED_EXTENSIONS = (keyUsage: string) => [
  'Subject:',
  'X509v3 Basic Constraints: critical',
  'CA:FALSE',
  'X509v3 Key Usage: critical',
  keyUsage,
  'X509v3 Extended Key Usage:',
  'TLS Web Server Authentication, TLS Web Client Authentication',
  'X509v3 Subject Key Identifier:',
  '<key id>',
  'X509v3 Authority Key Identifier:',
  '<key id>',
  'X509v3 Subject Alternative Name: critical',
  `URI:${ID}`,
];

const KEYS: { keyType: CsrKeyType; keyUsage: string }[] = [
  { keyType: 'EC P-256', keyUsage: 'Digital Signature' },
  { keyType: 'EC P-384', keyUsage: 'Digital Signature' },
  { keyType: 'RSA 2048', keyUsage: 'Digital Signature, Key Encipherment' },
];

describe('openssl reads and verifies what the CA issues', () => {
  for (const { keyType, keyUsage } of KEYS) {
    test(`ok/${keyType}: openssl x509 -text shows the SVID extensions; openssl verify -x509_strict says OK as client and server`, async () => {
      const csr = await makeCsr({ keyType });
      for (const mode of modes) {
        const svid = mode.ca.issue(csr.pem, { credential: CRED });
        assert.equal(svid.chainPem.length, mode.intermediates, mode.name);
        const f = files(svid);
        assert.deepEqual(await extensionText(f.leaf), EXPECTED_EXTENSIONS(keyUsage), mode.name);
        for (const purpose of [[], ['-purpose', 'sslclient'], ['-purpose', 'sslserver']]) {
          const v = await opensslVerify(f, purpose);
          assert.ok(v.ok, `${mode.name} ${purpose.join(' ')}: ${v.out}`);
        }
      }
    });
  }

  test('ok/the key openssl reads from a minted SVID is the certificate key', async () => {
    for (const mode of modes) {
      const svid = mode.ca.mint(ID);
      const keyPath = join(work, `mint${n++}-key.pem`);
      writeFileSync(keyPath, svid.keyPem, { mode: 0o600 });
      const f = files(svid);
      const fromKey = await runOpenssl(['pkey', '-in', keyPath, '-pubout']);
      const fromCert = await runOpenssl(['x509', '-in', f.leaf, '-noout', '-pubkey']);
      assert.equal(fromKey.code, 0, fromKey.stderr);
      assert.equal(fromKey.stdout, fromCert.stdout);
      assert.ok((await opensslVerify(f)).ok);
    }
  });

  test('ok/the self-signed root is a CA certificate openssl accepts as a trust anchor', async () => {
    const { ca } = newCa();
    const root = join(work, 'root.pem');
    writeFileSync(root, ca.bundlePem());
    const r = await runOpenssl(['x509', '-text', '-noout', '-in', root]);
    assert.match(r.stdout, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(r.stdout, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
    assert.match(r.stdout, new RegExp(`X509v3 Subject Alternative Name: \\n\\s+URI:spiffe://${TD.replace('.', '\\.')}\\n`));
    const v = await runOpenssl(['verify', '-x509_strict', '-attime', AT, '-CAfile', root, root]);
    assert.equal(v.stdout.trim(), `${root}: OK`, v.stderr);
  });

  test('fail/openssl refuses a leaf against another CA bundle, or without its intermediates (the checks above are not vacuous)', async () => {
    const svid = modes[2]!.ca.issue((await makeCsr()).der, { credential: CRED });
    const f = files(svid);
    const other = files(newCa().ca.mint(ID));
    assert.equal((await opensslVerify({ ...f, bundle: other.bundle })).ok, false);
    assert.equal((await opensslVerify({ leaf: f.leaf, bundle: f.bundle })).ok, false);
    const late = await runOpenssl(['verify', '-x509_strict', '-attime', String(Math.floor(T0 / 1000) + 3601), '-CAfile', f.bundle, '-untrusted', f.chain!, f.leaf]);
    assert.match(late.stdout + late.stderr, /certificate has expired/);
  });
});
