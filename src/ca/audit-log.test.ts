// The CA's audit log: mode 0600, one JSON line per issuance and per refusal, and never a key, a
// certificate, a CSR or a join token's text in it.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { JoinTokenStore } from '../attest/index.js';
import { REDACTED, type CaCredential } from './audit-log.js';
import { auditLines, cleanupAll, CRED, HOUR, ID, makeCsr, newCa, T0, TD } from './testing/fixtures.js';

after(cleanupAll);
const iso = (ms: number) => new Date(ms).toISOString();

describe('the audit log', () => {
  test('ok/audit.log is mode 0600, with one JSON line per issuance: time, spiffeId, serial, notAfter, keyType, credential, lineage', async () => {
    const { ca, dir, clock } = newCa();
    clock.advance(5_000);
    const credential: CaCredential = { kind: 'join-token', tokenId: 'AAAAAAAAAAAAAAAAAAAAAA' };
    const svid = ca.issue((await makeCsr()).der, { credential });
    assert.equal(ca.audit.path, `${dir}/audit.log`);
    assert.equal(statSync(ca.audit.path).mode & 0o777, 0o600);
    const lines = auditLines(ca);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.event, 'ca.created');
    assert.deepEqual(lines[1], { time: iso(T0 + 5_000), event: 'svid.issued', spiffeId: ID, serial: svid.serial, notAfter: iso(T0 + 5_000 + HOUR), keyType: 'EC P-256', credential, lineage: 'join-token' });
    const raw = readFileSync(ca.audit.path, 'utf8');
    assert.equal(raw.split('\n').length, 3, 'one line each, newline-terminated');
  });

  test('ok/a refusal is one line with the code and reason, and the requested ID when it was read', async () => {
    const { ca } = newCa();
    const csr = (await makeCsr()).der;
    const foreign = (await makeCsr({ sans: [{ type: 'url', value: 'spiffe://other.org/ns/default/sa/web' }] })).der;
    assert.throws(() => ca.issue(Buffer.from('garbage'), { credential: CRED }), { code: 'WEFT_CSR_MALFORMED' });
    assert.throws(() => ca.issue(csr, { credential: CRED, expectedSpiffeId: `spiffe://${TD}/ns/default/sa/db` }), { code: 'WEFT_CSR_IDENTITY_MISMATCH' });
    assert.throws(() => ca.issue(foreign, { credential: CRED }), { code: 'WEFT_CSR_FOREIGN_TRUST_DOMAIN' });
    const refused = auditLines(ca).slice(1);
    assert.deepEqual(
      refused.map((l) => [l.time, l.event, l.code, l.credential, typeof l.reason]),
      [
        [iso(T0), 'svid.refused', 'WEFT_CSR_MALFORMED', CRED, 'string'],
        [iso(T0), 'svid.refused', 'WEFT_CSR_IDENTITY_MISMATCH', CRED, 'string'],
        [iso(T0), 'svid.refused', 'WEFT_CSR_FOREIGN_TRUST_DOMAIN', CRED, 'string'],
      ],
    );
    assert.equal(refused[0]!.spiffeId, undefined);
    assert.equal(refused[1]!.spiffeId, ID);
    assert.ok(refused.every((l) => l.serial === undefined && l.notAfter === undefined), 'a refusal names no certificate');
  });

  test('ok/no PEM, key material or token text ever reaches it', async () => {
    const { ca, dir } = newCa();
    const tokens = JoinTokenStore.open(dir, { clock: { now: () => T0 } });
    const { token } = tokens.create({ trustDomain: TD, namespace: 'default', serviceAccount: 'web', caFingerprint: ca.rootFingerprint });
    const proved = tokens.verify(token, { trustDomain: TD, caFingerprint: ca.rootFingerprint });
    const csr = await makeCsr();
    const issued = ca.issue(csr.pem, { credential: { kind: 'join-token', tokenId: proved.tokenId }, expectedSpiffeId: proved.spiffeId });
    const renewed = ca.issue(csr.der, { credential: { kind: 'svid', spiffeId: ID, serial: issued.serial } });
    const minted = ca.mint(ID, { keyType: 'rsa-2048' });
    assert.throws(() => ca.issue(csr.pem.replace('REQUEST', 'REQUESTS'), { credential: { kind: 'join-token', tokenId: proved.tokenId } }));
    assert.throws(() => ca.issue(csr.der, { credential: { kind: 'join-token', tokenId: proved.tokenId }, expectedSpiffeId: `spiffe://${TD}/ns/default/sa/db` }));
    const text = readFileSync(ca.audit.path, 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, 6);
    for (const secret of ['PRIVATE KEY', 'BEGIN', '-----', token, ...token.split('.').slice(1)]) {
      assert.equal(text.includes(secret), false, `the audit log holds ${secret.slice(0, 20)}…`);
    }
    const b64 = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const line of [...b64(minted.keyPem), ...b64(csr.pem), ...b64(issued.leafPem), ...b64(renewed.leafPem)]) {
      assert.equal(text.includes(line), false, 'the audit log holds base64 of a key, a CSR or a certificate');
    }
    assert.ok(text.includes(proved.tokenId), 'the token is named by its id');
  });

  test("fail/a join token's secret never reaches it, whatever the caller puts in the credential", async () => {
    const { ca, dir } = newCa();
    const tokens = JoinTokenStore.open(dir, { clock: { now: () => T0 } });
    const { token } = tokens.create({ trustDomain: TD, namespace: 'default', serviceAccount: 'web', caFingerprint: ca.rootFingerprint });
    const proved = tokens.verify(token, { trustDomain: TD, caFingerprint: ca.rootFingerprint });
    const csr = (await makeCsr()).der;
    // Objects a caller may hold and hand over as they are: the verified token with the token text
    // beside it, the token where its id belongs, a private key and a raw CSR in an operator's, the
    // token in an SVID's fields, and a kind the CA does not know.
    const handed: CaCredential[] = [];
    const withSecret = { kind: 'join-token' as const, ...proved, token, secret: token.split('.')[2] };
    handed.push(withSecret, { kind: 'join-token', tokenId: token });
    const keyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const csrPem = (await makeCsr({ freshKey: true })).pem;
    const asOperator = { kind: 'operator' as const, name: 'weft ca mint', keyPem, csr: csrPem };
    handed.push(asOperator, { kind: 'operator', name: csrPem }, { kind: 'svid', spiffeId: token, serial: token } as CaCredential, { kind: 'bearer', token } as unknown as CaCredential);
    for (const credential of handed) {
      // An SVID credential is a renewal, refused for a serial the CA never issued; refused or not,
      // the line is written, and neither it nor the error holds the secret.
      if (credential.kind === 'svid') assert.throws(() => ca.issue(csr, { credential }), (err: Error) => (err as { code?: string }).code === 'WEFT_CA_RENEWAL_REFUSED' && !err.message.includes(token));
      else ca.issue(csr, { credential });
    }
    assert.throws(() => ca.issue(Buffer.from('garbage'), { credential: withSecret }), { code: 'WEFT_CSR_MALFORMED' });
    ca.mint(ID, { credential: withSecret });

    const text = readFileSync(ca.audit.path, 'utf8');
    for (const secret of [token, ...token.split('.'), 'BEGIN', ...[keyPem, csrPem].flatMap((pem) => pem.split('\n').filter((l) => l.length > 20))]) {
      assert.equal(text.includes(secret), false, `the audit log holds ${secret.slice(0, 20)}…`);
    }
    assert.deepEqual(
      auditLines(ca).slice(1).map((l) => l.credential),
      [
        { kind: 'join-token', tokenId: proved.tokenId },
        { kind: 'join-token', tokenId: REDACTED },
        { kind: 'operator', name: 'weft ca mint' },
        { kind: 'operator', name: REDACTED },
        { kind: 'svid', spiffeId: REDACTED, serial: REDACTED },
        { kind: 'unknown' },
        { kind: 'join-token', tokenId: proved.tokenId },
        { kind: 'join-token', tokenId: proved.tokenId },
      ],
    );
  });
});
