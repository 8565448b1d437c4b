import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readCertificate, parseCertificatesPem, KU_CRL_SIGN, KU_KEY_CERT_SIGN, verifyX509Svid, bundleFromPem } from '../identity/index.js';
import { FrozenClock } from '../lib/clock.js';
import { CertificateAuthority, DEFAULT_ROOT_TTL_MS } from './certificate-authority.js';
import { CaError, type CaErrorCode } from './errors.js';
import { auditLines, chainDer, cleanupAll, CRED, HOUR, ID, makeCsr, MINUTE, newCa, pluginCa, scratch, T0, TD, writePluginFiles } from './testing/fixtures.js';
import { TestPki, type TestCert } from '../../test/helpers/pki.js';

after(cleanupAll);
const pki = new TestPki({ now: T0 });
const DAY = 24 * HOUR;

function rejects(fn: () => unknown, code: CaErrorCode, message?: RegExp): CaError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CaError, `expected CaError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Every file under `dir`, with its mode, size, mtime and content: "nothing changed" is this being equal. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[p] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${readFileSync(p, 'base64')}`;
    }
  };
  walk(dir);
  return out;
}

describe('CertificateAuthority.init and open (self-signed)', () => {
  test('ok/init creates a P-256 root with root-key.pem mode 0600 in a ca/ directory of mode 0700', () => {
    const { ca, dir } = newCa();
    assert.equal(statSync(join(dir, 'ca')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'ca', 'root-key.pem')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'ca', 'root-key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    const [der] = parseCertificatesPem(readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8'));
    const root = readCertificate(der!);
    assert.equal(root.keyType, 'EC P-256');
    assert.deepEqual(root.basicConstraints, { ca: true, pathLength: undefined });
    assert.equal(root.keyUsage, KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert.deepEqual([...root.uris], [`spiffe://${TD}`]);
    assert.equal(root.notAfter.getTime(), T0 + DEFAULT_ROOT_TTL_MS);
    assert.equal(ca.rootFingerprint, root.fingerprint);
    assert.equal(ca.mode, 'self-signed');
    assert.equal(ca.trustDomain, TD);
    assert.deepEqual(ca.chainPem(), []);
    assert.equal(ca.bundlePem(), readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8'));
    assert.deepEqual(auditLines(ca).map((l) => [l.event, l.mode, l.rootFingerprint]), [['ca.created', 'self-signed', root.fingerprint]]);
  });

  test('ok/open reuses the root: same fingerprint, nothing rewritten', () => {
    const { ca, dir } = newCa();
    const before = snapshot(join(dir, 'ca'));
    const reopened = CertificateAuthority.open(dir, { clock: new FrozenClock(T0 + DAY) });
    assert.equal(reopened.rootFingerprint, ca.rootFingerprint);
    assert.equal(reopened.trustDomain, TD);
    const again = CertificateAuthority.init(dir, { trustDomain: TD, clock: new FrozenClock(T0 + DAY) });
    assert.equal(again.rootFingerprint, ca.rootFingerprint);
    assert.deepEqual(snapshot(join(dir, 'ca')), before);
  });

  test('ok/a custom root TTL is honoured', () => {
    const { ca } = newCa({ rootTtlMs: 30 * DAY });
    assert.equal(ca.rootNotAfter.getTime(), T0 + 30 * DAY);
    assert.equal(ca.signerNotAfter.getTime(), T0 + 30 * DAY);
  });

  test('fail/init with another trust domain is refused and changes nothing', () => {
    const { ca, dir } = newCa();
    const before = snapshot(dir);
    const err = rejects(() => CertificateAuthority.init(dir, { trustDomain: 'other.org', clock: new FrozenClock(T0) }), 'WEFT_CA_TRUST_DOMAIN_MISMATCH');
    assert.equal(
      err.message,
      `${dir} already holds the CA of trust domain example.org, not other.org: a CA keeps the trust domain it was created with. To use this CA, run with --trust-domain example.org; for a mesh of other.org, give another --data-dir`,
    );
    assert.equal(err.file, join(dir, 'ca', 'ca.json'));
    assert.deepEqual(snapshot(dir), before);
    assert.equal(CertificateAuthority.open(dir).rootFingerprint, ca.rootFingerprint);
  });

  test('fail/init over CA files without ca.json (an interrupted init, a lost ca.json) refuses and keeps the key', () => {
    const { ca, dir } = newCa();
    rmSync(join(dir, 'ca', 'ca.json'));
    const before = snapshot(join(dir, 'ca'));
    const err = rejects(() => CertificateAuthority.init(dir, { trustDomain: TD, clock: new FrozenClock(T0) }), 'WEFT_CA_ALREADY_EXISTS');
    assert.equal(
      err.message,
      `${join(dir, 'ca')} holds root-key.pem, root-cert.pem but no ca.json (an interrupted \`weft ca init\`, or ca.json was lost): weft never overwrites CA key material. Restore ca.json, or, if nothing trusts this CA yet, remove ${join(dir, 'ca')} and run init again`,
    );
    assert.equal(err.file, join(dir, 'ca', 'root-key.pem'));
    assert.deepEqual(snapshot(join(dir, 'ca')), before);
    writeFileSync(join(dir, 'ca', 'ca.json'), JSON.stringify({ trustDomain: TD, mode: 'self-signed' }));
    assert.equal(CertificateAuthority.open(dir, { clock: new FrozenClock(T0) }).rootFingerprint, ca.rootFingerprint, 'restoring ca.json brings the same CA back');
  });

  for (const [name, make] of [
    ['fail/open of a data directory that does not exist', () => join(scratch(), 'missing')],
    ['fail/open of an empty data directory', () => scratch()],
  ] as const) {
    test(`${name} asks for weft ca init and creates nothing`, () => {
      const dir = make();
      const before = existsSync(dir) ? snapshot(dir) : undefined;
      const err = rejects(() => CertificateAuthority.open(dir), 'WEFT_CA_NOT_INITIALISED');
      assert.equal(err.message, `no CA in ${dir}: run \`weft ca init --data-dir ${dir}\` first`);
      assert.deepEqual(existsSync(dir) ? snapshot(dir) : undefined, before);
    });
  }
});

describe('CertificateAuthority.initFromPlugin (Istio plug-in intermediate)', () => {
  test('ok/copies the four files (ca-key.pem 0600), takes the trust domain from ca-cert.pem, issues under the intermediate', async () => {
    const plugin = await pluginCa(pki);
    const dir = scratch();
    const ca = CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) });
    for (const f of ['ca-cert.pem', 'root-cert.pem', 'cert-chain.pem']) assert.equal(readFileSync(join(dir, 'ca', f), 'utf8'), readFileSync(join(plugin.dir, f), 'utf8'), f);
    assert.equal(statSync(join(dir, 'ca', 'ca-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ca')).mode & 0o777, 0o700);
    assert.equal(ca.mode, 'intermediate');
    assert.equal(ca.trustDomain, TD);
    assert.equal(ca.rootFingerprint, readCertificate(plugin.root.der).fingerprint);
    assert.equal(ca.signerNotAfter.getTime(), plugin.chain[0]!.cert.notAfter.getTime());
    assert.deepEqual(ca.chainPem(), [plugin.chain[0]!.pem]);
    assert.equal(ca.bundlePem(), plugin.root.pem);
    const svid = ca.issue((await makeCsr()).der, { credential: CRED });
    assert.equal(verifyX509Svid(chainDer(svid), bundleFromPem(TD, svid.bundlePem), { clock: new FrozenClock(T0) }).spiffeId.text, ID);
    assert.equal(CertificateAuthority.open(dir, { clock: new FrozenClock(T0) }).rootFingerprint, ca.rootFingerprint);
  });

  test('ok/a signer two levels under the root sends both intermediates, signer first', async () => {
    const plugin = await pluginCa(pki, { depth: 2 });
    const ca = CertificateAuthority.initFromPlugin(scratch(), plugin.dir, { clock: new FrozenClock(T0) });
    assert.deepEqual(ca.chainPem(), plugin.chain.map((c) => c.pem));
    const svid = ca.issue((await makeCsr()).pem, { credential: CRED });
    assert.equal(verifyX509Svid(chainDer(svid), bundleFromPem(TD, svid.bundlePem), { clock: new FrozenClock(T0) }).spiffeId.text, ID);
  });

  test('fail/a signer naming another trust domain than the one asked for is refused', async () => {
    const plugin = await pluginCa(pki);
    const dir = scratch();
    rejects(() => CertificateAuthority.initFromPlugin(dir, plugin.dir, { trustDomain: 'other.org', clock: new FrozenClock(T0) }), 'WEFT_CA_TRUST_DOMAIN_MISMATCH', /names trust domain example\.org, not other\.org/);
    rejects(() => CertificateAuthority.open(dir), 'WEFT_CA_NOT_INITIALISED');
  });

  test('fail/a data directory that already holds a self-signed CA is refused and unchanged', async () => {
    const plugin = await pluginCa(pki);
    const { ca, dir } = newCa();
    const before = snapshot(dir);
    const err = rejects(() => CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) }), 'WEFT_CA_ALREADY_EXISTS');
    assert.equal(
      err.message,
      `${dir} already holds another CA (self-signed, trust domain ${TD}, root ${ca.rootFingerprint}): weft never replaces a CA's key material; plug the intermediate into a new --data-dir`,
    );
    assert.deepEqual(snapshot(dir), before);
  });

  test('ok/plugging the same intermediate in twice opens the CA as it is: nothing rewritten, no second ca.created', async () => {
    const plugin = await pluginCa(pki, { depth: 2 });
    const dir = scratch();
    const ca = CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) });
    const before = snapshot(dir);
    const again = CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0 + HOUR) });
    assert.equal(again.rootFingerprint, ca.rootFingerprint);
    assert.deepEqual(again.chainPem(), ca.chainPem());
    assert.deepEqual(snapshot(dir), before);
  });

  test('fail/plugging another intermediate into a data directory holding a plug-in CA is refused; the key stays', async () => {
    const first = await pluginCa(pki);
    const second = await pluginCa(pki, { root: first.root });
    const dir = scratch();
    CertificateAuthority.initFromPlugin(dir, first.dir, { clock: new FrozenClock(T0) });
    const before = snapshot(dir);
    rejects(() => CertificateAuthority.initFromPlugin(dir, second.dir, { clock: new FrozenClock(T0) }), 'WEFT_CA_ALREADY_EXISTS', /already holds another CA \(intermediate, trust domain example\.org, root sha256:[0-9a-f]{64}\): weft never replaces/);
    assert.deepEqual(snapshot(dir), before);
    assert.equal(readFileSync(join(dir, 'ca', 'ca-key.pem'), 'utf8'), first.chain[0]!.keyPem);
  });

  test('fail/plugging in over CA files without ca.json refuses and removes nothing', async () => {
    const plugin = await pluginCa(pki);
    const { dir } = newCa();
    rmSync(join(dir, 'ca', 'ca.json'));
    const before = snapshot(dir);
    rejects(() => CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) }), 'WEFT_CA_ALREADY_EXISTS', /holds root-key\.pem, root-cert\.pem but no ca\.json/);
    assert.deepEqual(snapshot(dir), before);
  });

  test('fail/the same intermediate asked for under another trust domain than the data directory has', async () => {
    const plugin = await pluginCa(pki);
    const dir = scratch();
    CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) });
    rejects(() => CertificateAuthority.initFromPlugin(dir, plugin.dir, { trustDomain: 'other.org', clock: new FrozenClock(T0) }), 'WEFT_CA_TRUST_DOMAIN_MISMATCH', /ca-cert\.pem names trust domain example\.org, not other\.org: leave out --trust-domain to use example\.org, or plug in an intermediate of other\.org$/);
  });

  for (const [what, layout] of [
    ['without ca-cert.pem at its head', (_signer: TestCert, mid: TestCert) => [mid]],
    ['without the root at its end', (signer: TestCert, mid: TestCert) => [signer, mid]],
  ] as const) {
    test(`ok/cert-chain.pem ${what} is accepted; the same intermediates are sent`, async () => {
      const plugin = await pluginCa(pki, { depth: 2 });
      const [signer, mid] = plugin.chain as [TestCert, TestCert];
      writeFileSync(join(plugin.dir, 'cert-chain.pem'), layout(signer, mid).map((c) => c.pem).join(''));
      const ca = CertificateAuthority.initFromPlugin(scratch(), plugin.dir, { clock: new FrozenClock(T0) });
      assert.deepEqual(ca.chainPem(), [signer.pem, mid.pem]);
    });
  }
});

describe('SVID lifetime', () => {
  const lifetime = (svid: { notBefore: Date; notAfter: Date }) => [svid.notBefore.getTime() - T0, svid.notAfter.getTime() - T0];

  test('ok/the default TTL is one hour, back-dated 10 s', async () => {
    const { ca } = newCa();
    assert.deepEqual(lifetime(ca.issue((await makeCsr()).der, { credential: CRED })), [-10_000, HOUR]);
  });

  test('ok/a TTL under the maximum is honoured, and defaultTtlMs replaces the default', async () => {
    const { ca } = newCa({ defaultTtlMs: 20 * MINUTE });
    const csr = (await makeCsr()).der;
    assert.deepEqual(lifetime(ca.issue(csr, { credential: CRED })), [-10_000, 20 * MINUTE]);
    assert.deepEqual(lifetime(ca.issue(csr, { credential: CRED, ttlMs: 5 * MINUTE })), [-10_000, 5 * MINUTE]);
  });

  test('ok/a TTL above maxTtlMs is capped (24 h unless configured)', async () => {
    const csr = (await makeCsr()).der;
    assert.deepEqual(lifetime(newCa().ca.issue(csr, { credential: CRED, ttlMs: 48 * HOUR })), [-10_000, 24 * HOUR]);
    assert.deepEqual(lifetime(newCa({ maxTtlMs: 2 * HOUR }).ca.issue(csr, { credential: CRED, ttlMs: 5 * HOUR })), [-10_000, 2 * HOUR]);
  });

  test("ok/a TTL beyond the signer's notAfter is capped at it (intermediate expiring in 30 min, 1 h asked)", async () => {
    const plugin = await pluginCa(pki, { signerNotAfter: new Date(T0 + 30 * MINUTE) });
    const ca = CertificateAuthority.initFromPlugin(scratch(), plugin.dir, { clock: new FrozenClock(T0) });
    const svid = ca.issue((await makeCsr()).der, { credential: CRED, ttlMs: HOUR });
    assert.deepEqual(lifetime(svid), [-10_000, 30 * MINUTE]);
    assert.equal(readCertificate(svid.leafDer).notAfter.getTime(), T0 + 30 * MINUTE);
    assert.equal(auditLines(ca).at(-1)!.notAfter, new Date(T0 + 30 * MINUTE).toISOString());
  });

  test('ok/an intermediate above the signer expiring within the TTL caps it (signer valid for a year)', async () => {
    const root = await pki.root(TD);
    const mid = await pki.intermediate(root, { notAfter: new Date(T0 + 20 * MINUTE) });
    const signer = await pki.intermediate(mid, { uris: [`spiffe://${TD}`] });
    const source = scratch('weft-plugin-');
    writePluginFiles(source, { signer, chain: [signer, mid], root });
    const clock = new FrozenClock(T0);
    const ca = CertificateAuthority.initFromPlugin(scratch(), source, { clock });
    assert.equal(ca.issuesUntil.getTime(), T0 + 20 * MINUTE, 'what `weft ca show` prints as "issues until"');
    assert.ok(ca.signerNotAfter.getTime() > ca.issuesUntil.getTime());
    const csr = (await makeCsr()).der;
    const svid = ca.issue(csr, { credential: CRED, ttlMs: HOUR });
    assert.deepEqual(lifetime(svid), [-10_000, 20 * MINUTE]);
    assert.equal(readCertificate(svid.leafDer).notAfter.getTime(), T0 + 20 * MINUTE);
    clock.advance(20 * MINUTE);
    rejects(() => ca.issue(csr, { credential: CRED }), 'WEFT_CA_SIGNER_EXPIRED', new RegExp(`^a certificate above the CA's signer \\(${mid.subject}\\) expired at 2026-01-01T00:20:00\\.000Z: nothing can be issued until it is rotated$`));
  });

  test("ok/a plug-in root expiring within the TTL caps it (the intermediate under it valid for a year)", async () => {
    const root = await pki.root(TD, { notAfter: new Date(T0 + 40 * MINUTE) });
    const plugin = await pluginCa(pki, { root });
    const ca = CertificateAuthority.initFromPlugin(scratch(), plugin.dir, { clock: new FrozenClock(T0) });
    assert.deepEqual(lifetime(ca.issue((await makeCsr()).der, { credential: CRED, ttlMs: HOUR })), [-10_000, 40 * MINUTE]);
  });

  test('ok/a self-signed root expiring within the TTL caps it too', async () => {
    const { ca } = newCa({ rootTtlMs: 2 * HOUR });
    const later = CertificateAuthority.open(ca.dataDir, { clock: new FrozenClock(T0 + 90 * MINUTE) });
    const svid = later.issue((await makeCsr()).der, { credential: CRED, ttlMs: HOUR });
    assert.equal(svid.notAfter.getTime(), T0 + 2 * HOUR);
  });

  test('fail/an expired self-signed root stops the CA at open, naming root-cert.pem', () => {
    const { dir } = newCa({ rootTtlMs: 2 * HOUR });
    const err = rejects(() => CertificateAuthority.open(dir, { clock: new FrozenClock(T0 + 2 * HOUR) }), 'WEFT_CA_SIGNER_EXPIRED');
    assert.equal(err.file, join(dir, 'ca', 'root-cert.pem'));
    assert.equal(err.message, `${err.file} expired at ${new Date(T0 + 2 * HOUR).toISOString()}: the CA refuses to sign with an expired signer; rotate it`);
  });

  test('fail/an expired plug-in intermediate stops the CA at open and at initFromPlugin', async () => {
    const plugin = await pluginCa(pki, { signerNotAfter: new Date(T0 + 30 * MINUTE) });
    const dir = scratch();
    CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) });
    const late = new FrozenClock(T0 + 31 * MINUTE);
    assert.equal(rejects(() => CertificateAuthority.open(dir, { clock: late }), 'WEFT_CA_SIGNER_EXPIRED').file, join(dir, 'ca', 'ca-cert.pem'));
    const fresh = scratch();
    assert.equal(rejects(() => CertificateAuthority.initFromPlugin(fresh, plugin.dir, { clock: late }), 'WEFT_CA_SIGNER_EXPIRED').file, join(plugin.dir, 'ca-cert.pem'));
    rejects(() => CertificateAuthority.open(fresh), 'WEFT_CA_NOT_INITIALISED');
  });

  test('fail/a plug-in whose root has expired stops the CA at open and at initFromPlugin, naming root-cert.pem', async () => {
    const root = await pki.root(TD, { notAfter: new Date(T0 + 10 * MINUTE) });
    const plugin = await pluginCa(pki, { root });
    const dir = scratch();
    CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) });
    const late = new FrozenClock(T0 + 10 * MINUTE);
    const err = rejects(() => CertificateAuthority.open(dir, { clock: late }), 'WEFT_CA_SIGNER_EXPIRED', /expired at 2026-01-01T00:10:00\.000Z; no leaf signed under it would verify$/);
    assert.equal(err.file, join(dir, 'ca', 'root-cert.pem'));
    const fresh = scratch();
    assert.equal(rejects(() => CertificateAuthority.initFromPlugin(fresh, plugin.dir, { clock: late }), 'WEFT_CA_SIGNER_EXPIRED').file, join(plugin.dir, 'root-cert.pem'));
  });

  test('fail/a signer that expires after open refuses to issue, and the refusal is audited', async () => {
    const { ca, clock } = newCa({ rootTtlMs: 2 * HOUR });
    const csr = (await makeCsr()).der;
    ca.issue(csr, { credential: CRED });
    clock.advance(2 * HOUR);
    rejects(() => ca.issue(csr, { credential: CRED }), 'WEFT_CA_SIGNER_EXPIRED', /expired at 2026-01-01T02:00:00\.000Z: nothing can be issued until it is rotated/);
    rejects(() => ca.mint(ID), 'WEFT_CA_SIGNER_EXPIRED');
    const events = auditLines(ca).map((l) => [l.event, l.code]);
    assert.deepEqual(events, [['ca.created', undefined], ['svid.issued', undefined], ['svid.refused', 'WEFT_CA_SIGNER_EXPIRED'], ['svid.refused', 'WEFT_CA_SIGNER_EXPIRED']]);
  });

  test('fail/a TTL that is not a positive number is a TypeError', async () => {
    const { ca } = newCa();
    const csr = (await makeCsr()).der;
    for (const ttlMs of [0, -1, Number.NaN]) assert.throws(() => ca.issue(csr, { credential: CRED, ttlMs }), { name: 'TypeError', message: '"ttlMs" must be a positive number of milliseconds' });
  });
});
