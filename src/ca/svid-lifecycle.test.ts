import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FrozenClock } from '../lib/clock.js';
import type { CaCredential } from './audit-log.js';
import { CertificateAuthority } from './certificate-authority.js';
import { auditLines, cleanupAll, HOUR, ID, makeCsr, MINUTE, newCa, T0, TD } from './testing/fixtures.js';

after(cleanupAll);

const JOIN: CaCredential = { kind: 'join-token', tokenId: 'AAAAAAAAAAAAAAAAAAAAAA' };
const renewalOf = (serial: string): CaCredential => ({ kind: 'svid', spiffeId: ID, serial });
const lifetime = (s: { notBefore: Date; notAfter: Date }) => s.notAfter.getTime() - s.notBefore.getTime();

describe('renewal lineage', () => {
  // Every way a lineage can start, and whether a renewal (of the first, then of the renewal) goes through.
  const cases: { name: string; start: (ca: CertificateAuthority, csr: Buffer) => { serial: string }; renews: boolean }[] = [
    { name: 'ok/a join-token registration renews, and so does its renewal', start: (ca, csr) => ca.issue(csr, { credential: JOIN }), renews: true },
    { name: 'ok/a --renewable mint renews, and so does its renewal', start: (ca) => ca.mint(ID, { ttlMs: 2 * MINUTE, renewable: true }), renews: true },
    { name: 'fail/a mint without --renewable never renews', start: (ca) => ca.mint(ID, { ttlMs: 2 * MINUTE }), renews: false },
    { name: 'fail/an operator issuance through issue() never renews', start: (ca, csr) => ca.issue(csr, { credential: { kind: 'operator', name: 'test' } }), renews: false },
    { name: 'fail/a serial this CA has no record of never renews', start: () => ({ serial: '4a'.repeat(16) }), renews: false },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { ca } = newCa();
      const csr = (await makeCsr()).der;
      const first = c.start(ca, csr);
      if (!c.renews) {
        assert.throws(() => ca.issue(csr, { credential: renewalOf(first.serial), ttlMs: 24 * HOUR }), { code: 'WEFT_CA_RENEWAL_REFUSED' });
        const refused = auditLines(ca).at(-1)!;
        assert.equal(refused.event, 'svid.refused');
        assert.equal(refused.code, 'WEFT_CA_RENEWAL_REFUSED');
        return;
      }
      const second = ca.issue(csr, { credential: renewalOf(first.serial) });
      const third = ca.issue(csr, { credential: renewalOf(second.serial) });
      assert.notEqual(third.serial, second.serial);
    });
  }

  test('ok/a renewable mint renews for at most the lifetime it was minted with, whatever is asked', async () => {
    const { ca } = newCa();
    const csr = (await makeCsr()).der;
    const minted = ca.mint(ID, { ttlMs: 2 * MINUTE, renewable: true });
    const renewed = ca.issue(csr, { credential: renewalOf(minted.serial), ttlMs: 24 * HOUR });
    assert.ok(lifetime(renewed) <= 2 * MINUTE + 10_000, `${lifetime(renewed)} ms`);
    const again = ca.issue(csr, { credential: renewalOf(renewed.serial) });
    assert.ok(lifetime(again) <= 2 * MINUTE + 10_000);
  });

  test('ok/a registration renews for what it asks, up to the CA maximum', async () => {
    const { ca } = newCa();
    const csr = (await makeCsr()).der;
    const first = ca.issue(csr, { credential: JOIN, ttlMs: 10 * MINUTE });
    const renewed = ca.issue(csr, { credential: renewalOf(first.serial), ttlMs: 2 * HOUR });
    assert.ok(lifetime(renewed) > 2 * HOUR - 1_000);
  });

  test('fail/an expired serial does not renew, even of a renewable lineage', async () => {
    const { ca, clock } = newCa();
    const csr = (await makeCsr()).der;
    const first = ca.issue(csr, { credential: JOIN, ttlMs: MINUTE });
    clock.advance(2 * MINUTE);
    assert.throws(() => ca.issue(csr, { credential: renewalOf(first.serial) }), { code: 'WEFT_CA_RENEWAL_REFUSED' });
  });

  test('ok/the lineage survives a restart, and another process’s mint is seen without one', async () => {
    const { ca, dir, clock } = newCa();
    const csr = (await makeCsr()).der;
    const first = ca.issue(csr, { credential: JOIN });
    const other = CertificateAuthority.open(dir, { clock });
    const minted = other.mint(ID, { renewable: true });
    // `ca` never reopened: it reads the record's new lines when it meets the unknown serial.
    ca.issue(csr, { credential: renewalOf(minted.serial) });
    const reopened = CertificateAuthority.open(dir, { clock });
    reopened.issue(csr, { credential: renewalOf(first.serial) });
    assert.equal(statSync(join(dir, 'ca', 'issued.log')).mode & 0o777, 0o600);
  });

  test('ok/a torn last line and garbage are skipped (their serials fail safe: no renewal)', async () => {
    const { ca, dir, clock } = newCa();
    const csr = (await makeCsr()).der;
    const first = ca.issue(csr, { credential: JOIN });
    appendFileSync(join(dir, 'ca', 'issued.log'), 'not json\n{"serial":"ab"');
    const reopened = CertificateAuthority.open(dir, { clock });
    reopened.issue(csr, { credential: renewalOf(first.serial) });
  });

  test('ok/expired lines are dropped when the CA opens', async () => {
    const { ca, dir, clock } = newCa();
    ca.mint(ID, { ttlMs: MINUTE });
    ca.mint(ID, { ttlMs: 3 * HOUR });
    assert.equal(readFileSync(join(dir, 'ca', 'issued.log'), 'utf8').trim().split('\n').length, 2);
    clock.advance(HOUR);
    CertificateAuthority.open(dir, { clock });
    assert.equal(readFileSync(join(dir, 'ca', 'issued.log'), 'utf8').trim().split('\n').length, 1);
  });

  test('ok/a data directory from before the record is seeded from the audit log, lineage by lineage', async () => {
    const { ca, dir } = newCa();
    const csr = (await makeCsr()).der;
    const registered = ca.issue(csr, { credential: JOIN });
    const renewed = ca.issue(csr, { credential: renewalOf(registered.serial) });
    const minted = ca.mint(ID);
    // As the CA was before: no record, an audit log whose renewals of mints went through.
    const lines = readFileSync(join(dir, 'audit.log'), 'utf8');
    writeFileSync(join(dir, 'audit.log'), `${lines}${JSON.stringify({ event: 'svid.issued', spiffeId: ID, serial: 'ab'.repeat(16), notAfter: new Date(T0 + HOUR).toISOString(), credential: renewalOf(minted.serial) })}\n`);
    rmSync(join(dir, 'ca', 'issued.log'));
    const seeded = CertificateAuthority.open(dir, { clock: new FrozenClock(T0 + MINUTE) });
    seeded.issue(csr, { credential: renewalOf(renewed.serial) });
    assert.throws(() => seeded.issue(csr, { credential: renewalOf(minted.serial) }), { code: 'WEFT_CA_RENEWAL_REFUSED' });
    assert.throws(() => seeded.issue(csr, { credential: renewalOf('ab'.repeat(16)) }), { code: 'WEFT_CA_RENEWAL_REFUSED' }, 'a renewed mint inherits "no renewal"');
  });
});

describe('reserved identities at mint', () => {
  const ADMIN = `spiffe://${TD}/ns/ops/sa/admin`;
  for (const [name, id, admins] of [
    ['the control plane identity', `spiffe://${TD}/ns/weft-system/sa/control-plane`, []],
    ['a MeshConfig admin identity', ADMIN, [ADMIN]],
  ] as const) {
    test(`fail/${name} needs privileged, and is audited when refused`, () => {
      const { ca } = newCa();
      assert.throws(() => ca.mint(id, { adminIdentities: admins }), { code: 'WEFT_CA_RESERVED_IDENTITY', message: /--allow-privileged-identity/ });
      assert.equal(auditLines(ca).at(-1)!.code, 'WEFT_CA_RESERVED_IDENTITY');
      assert.equal(ca.mint(id, { adminIdentities: admins, privileged: true }).spiffeId, id);
    });
  }
  test('ok/an identity that is not reserved mints as before', () => {
    const { ca } = newCa();
    assert.equal(ca.mint(ADMIN).spiffeId, ADMIN, 'not an admin until MeshConfig lists it');
  });
});

describe('revocation', () => {
  test('ok/--spiffe-id revokes every unexpired serial of the identity, and only those; none renews', async () => {
    const { ca } = newCa();
    const csr = (await makeCsr()).der;
    const a = ca.issue(csr, { credential: JOIN });
    const b = ca.issue(csr, { credential: renewalOf(a.serial) });
    const other = ca.mint(`spiffe://${TD}/ns/default/sa/db`, { renewable: true });
    const done = ca.lifecycle.revoke({ spiffeId: ID });
    assert.deepEqual(done.revoked.map((r) => r.serial).sort(), [a.serial, b.serial].sort());
    assert.deepEqual(done.tokenIds, [JOIN.kind === 'join-token' ? JOIN.tokenId : '']);
    for (const s of [a.serial, b.serial]) assert.throws(() => ca.issue(csr, { credential: renewalOf(s) }), { code: 'WEFT_CA_CERT_REVOKED', message: /^certificate revoked: / });
    assert.equal(ca.lifecycle.revoked.has(other.serial), false);
    assert.deepEqual(ca.lifecycle.revoke({ spiffeId: ID }).already.sort(), [a.serial, b.serial].sort(), 'revoking again changes nothing');
  });

  test('ok/the list is durable (0644, atomic), survives a restart and is pruned once the certificates would have expired', async () => {
    const { ca, dir, clock } = newCa();
    const csr = (await makeCsr()).der;
    const short = ca.issue(csr, { credential: JOIN, ttlMs: 10 * MINUTE });
    const long = ca.issue(csr, { credential: JOIN, ttlMs: 2 * HOUR });
    ca.lifecycle.revoke({ serials: [short.serial, long.serial.toUpperCase()] });
    const file = join(dir, 'ca', 'revoked.json');
    assert.equal(statSync(file).mode & 0o777, 0o644);
    const reopened = CertificateAuthority.open(dir, { clock });
    assert.deepEqual(reopened.lifecycle.revoked.serials(), [short.serial, long.serial].sort());
    const before = reopened.lifecycle.revoked.version;
    clock.advance(30 * MINUTE);
    assert.deepEqual(reopened.lifecycle.revoked.serials(), [long.serial]);
    assert.notEqual(reopened.lifecycle.revoked.version, before, 'a prune changes the version (snapshots follow)');
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).entries.length, 1);
  });

  test('ok/an unknown serial is revoked for the longest life a leaf can have', () => {
    const { ca, clock } = newCa();
    ca.lifecycle.revoke({ serials: ['7f'.repeat(16)] });
    assert.equal(ca.lifecycle.revoked.has('7f'.repeat(16)), true);
    clock.advance(25 * HOUR);
    assert.equal(ca.lifecycle.revoked.has('7f'.repeat(16)), false);
  });

  const bad: [string, { serials?: string[]; spiffeId?: string }][] = [
    ['fail/no serial', { serials: [] }],
    ['fail/a serial that is not hex', { serials: ['xyz'] }],
    ['fail/a serial too long for RFC 5280', { serials: ['a'.repeat(41)] }],
    ['fail/an identity with nothing issued', { spiffeId: `spiffe://${TD}/ns/default/sa/nobody` }],
  ];
  for (const [name, target] of bad) {
    test(name, () => {
      const { ca, dir } = newCa();
      assert.throws(() => ca.lifecycle.revoke(target), { code: 'WEFT_CA_REVOKE_INVALID' });
      assert.throws(() => statSync(join(dir, 'ca', 'revoked.json')), { code: 'ENOENT' }, 'nothing written');
    });
  }

  test('fail/a revocation list that is not one stops the CA rather than being taken for none', () => {
    const { dir, clock } = newCa();
    writeFileSync(join(dir, 'ca', 'revoked.json'), '{"entries": 3}');
    assert.throws(() => CertificateAuthority.open(dir, { clock }), { code: 'WEFT_CA_FILE_INVALID' });
    writeFileSync(join(dir, 'ca', 'revoked.json'), '{');
    assert.throws(() => CertificateAuthority.open(dir, { clock }), { code: 'WEFT_CA_FILE_INVALID' });
  });
});

describe('renewal lineage, as a property', () => {
  test('ok/any sequence of issuances and renewals: a renewal succeeds exactly when its lineage began with a join token or --renewable and nothing on it was revoked', async () => {
    const fc = await import('fast-check');
    const csr = (await makeCsr()).der;
    const step = fc.oneof(
      fc.constant({ op: 'join' as const }),
      fc.constant({ op: 'mint' as const }),
      fc.constant({ op: 'mint-renewable' as const }),
      fc.record({ op: fc.constant('renew' as const), of: fc.nat() }),
      fc.record({ op: fc.constant('revoke' as const), of: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const { ca } = newCa();
        const issued: { serial: string; renewable: boolean }[] = [];
        const revoked = new Set<string>();
        for (const s of steps) {
          if (s.op === 'join') issued.push({ serial: ca.issue(csr, { credential: JOIN }).serial, renewable: true });
          else if (s.op === 'mint') issued.push({ serial: ca.mint(ID).serial, renewable: false });
          else if (s.op === 'mint-renewable') issued.push({ serial: ca.mint(ID, { renewable: true }).serial, renewable: true });
          else if (issued.length > 0) {
            const parent = issued[s.of % issued.length]!;
            if (s.op === 'revoke') {
              ca.lifecycle.revoke({ serials: [parent.serial] });
              revoked.add(parent.serial);
              continue;
            }
            const expected = revoked.has(parent.serial) ? 'WEFT_CA_CERT_REVOKED' : parent.renewable ? undefined : 'WEFT_CA_RENEWAL_REFUSED';
            try {
              const child = ca.issue(csr, { credential: renewalOf(parent.serial) });
              assert.equal(expected, undefined, `renewal of ${parent.serial} should have been refused`);
              issued.push({ serial: child.serial, renewable: parent.renewable });
            } catch (err) {
              assert.equal((err as { code?: string }).code, expected);
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
