import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readCertificate, parseCertificatesPem, KU_CRL_SIGN, KU_KEY_CERT_SIGN, verifyX509Svid, bundleFromPem } from '../identity/index.js';
import { FrozenClock } from '../lib/clock.js';
import { CertificateAuthority, DEFAULT_ROOT_TTL_MS } from './certificate-authority.js';
import { CaError, type CaErrorCode } from './errors.js';
import { auditLines, chainDer, cleanupAll, CRED, HOUR, ID, makeCsr, MINUTE, newCa, pluginCa, scratch, T0, TD } from './testing/fixtures.js';
import { TestPki } from '../../test/helpers/pki.js';

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
    assert.match(err.message, /already holds the CA of trust domain example\.org, not other\.org: use another --data-dir$/);
    assert.deepEqual(snapshot(dir), before);
    assert.equal(CertificateAuthority.open(dir).rootFingerprint, ca.rootFingerprint);
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

  test('fail/a data directory that already holds a CA is refused and unchanged', async () => {
    const plugin = await pluginCa(pki);
    const { dir } = newCa();
    const before = snapshot(dir);
    rejects(() => CertificateAuthority.initFromPlugin(dir, plugin.dir, { clock: new FrozenClock(T0) }), 'WEFT_CA_TRUST_DOMAIN_MISMATCH', /already holds a CA/);
    assert.deepEqual(snapshot(dir), before);
  });
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
