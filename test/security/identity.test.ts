// Identities the CA hands out, through real processes on 127.0.0.1: a minted SVID does not renew
// itself unless minted --renewable; the control plane's identity and MeshConfig's admin identities
// cannot be claimed with a join token; `weft ca revoke` reaches every sidecar within seconds.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { ControlPlaneClient } from '../../src/agent/control-plane-client.js';
import { generateWorkloadKey } from '../../src/agent/csr.js';
import { encodeJoinToken } from '../../src/attest/join-token.js';
import { jwkThumbprint } from '../../src/attest/signing-key.js';
import { tempDir, runWeft } from '../helpers/cli.js';
import { freePort, getViaProxy, load, startControlPlane, startWeft, startWorkload, stop, type Mesh } from '../helpers/mesh.js';

const TD = 'cluster.local';
const ADMIN = `spiffe://${TD}/ns/ops/sa/admin`;

/** Polls `check` until it returns a value, at most `timeoutMs`; fails with `what` otherwise. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

function auditLines(dataDir: string): Record<string, unknown>[] {
  return readFileSync(join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('identities the CA hands out', { timeout: 300_000 }, () => {
  const tmp = tempDir();
  let mesh: Mesh;
  const cp = () => `127.0.0.1:${mesh.cpPort}`;
  const weft = (args: string[], input?: string) => runWeft(args, { input, env: { WEFT_CONFIG: join(mesh.dataDir, 'admin.conf') } });

  /** `weft ca mint` into a fresh directory; returns the files' text. */
  async function mint(spiffeId: string, extra: string[] = []): Promise<{ code: number | null; stderr: string; stdout: string; keyPem: string; certPem: string; bundlePem: string }> {
    const out = join(tmp.dir, `mint-${Math.random().toString(36).slice(2)}`);
    const r = await runWeft(['ca', 'mint', '--data-dir', mesh.dataDir, '--spiffe-id', spiffeId, '--out', out, ...extra]);
    if (r.code !== 0) return { ...r, keyPem: '', certPem: '', bundlePem: '' };
    const read = (f: string) => readFileSync(join(out, f), 'utf8');
    return { ...r, keyPem: read('key.pem'), certPem: read('svid.pem'), bundlePem: read('bundle.pem') };
  }

  /** A renewal over mTLS with the SVID given, as a sidecar's rotation makes it. */
  async function renew(spiffeId: string, svid: { keyPem: string; certPem: string; bundlePem: string }, ttlSeconds: number) {
    const client = new ControlPlaneClient(cp(), TD, { rootPem: svid.bundlePem, keyPem: svid.keyPem, certChainPem: svid.certPem });
    try {
      const key = await generateWorkloadKey(spiffeId);
      const signed = await client.signCertificate(key.csrDer, '', ttlSeconds);
      return { signed, keyPem: key.keyPem, certPem: signed.certChain.map((d) => `-----BEGIN CERTIFICATE-----\n${d.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`).join(''), bundlePem: svid.bundlePem };
    } finally {
      client.close();
    }
  }

  before(async () => {
    mesh = await startControlPlane(join(tmp.dir, 'data'), ['--lease', '3s']);
  });
  after(async () => {
    await stop(mesh.procs);
    tmp.cleanup();
  });

  test('a minted 2-minute SVID does not renew itself (refused and audited); a --renewable one renews, never for longer than it was minted for', async () => {
    const id = `spiffe://${TD}/ns/ops/sa/backup`;
    const minted = await mint(id, ['--ttl', '2m']);
    assert.equal(minted.code, 0, minted.stderr);
    assert.match(minted.stdout, /renews:\s+no/);
    const serial = /serial:\s+([0-9a-f]+)/.exec(minted.stdout)![1]!;
    await assert.rejects(renew(id, minted, 86_400), (err: ServiceError) => {
      assert.equal(err.code, 7 /* PERMISSION_DENIED */);
      assert.match(err.details, /renewal refused: serial [0-9a-f]+ was minted by `weft ca mint` without --renewable/);
      return true;
    });
    const refusal = auditLines(mesh.dataDir).find((l) => l.event === 'svid.refused' && (l.credential as { serial?: string } | undefined)?.serial === serial);
    assert.ok(refusal, 'the refused renewal is in the audit log');
    assert.equal(refusal.code, 'WEFT_CA_RENEWAL_REFUSED');
    assert.equal(refusal.spiffeId, id);

    const renewable = await mint(id, ['--ttl', '2m', '--renewable']);
    assert.equal(renewable.code, 0, renewable.stderr);
    const first = await renew(id, renewable, 86_400);
    assert.ok(first.signed.notAfter - first.signed.notBefore <= 2 * 60 + 10, `a renewal asked for 24 h got ${first.signed.notAfter - first.signed.notBefore} s`);
    // The lineage goes on: the renewed certificate renews too, still capped.
    const second = await renew(id, first, 86_400);
    assert.ok(second.signed.notAfter - second.signed.notBefore <= 2 * 60 + 10);
    assert.notEqual(second.signed.serial, first.signed.serial);
  });

  test('the control plane identity and a MeshConfig admin identity: refused at token create and at registration; mint needs --allow-privileged-identity', async () => {
    // A token for the admin identity made before MeshConfig names it: registration must still refuse it.
    const early = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', 'ops', '--service-account', 'admin', '--once']);
    assert.equal(early.code, 0, early.stderr);
    const applied = await weft(['apply', '-f', '-'], `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: default }\nspec:\n  adminIdentities: ["${ADMIN}"]\n`);
    assert.equal(applied.code, 0, applied.stderr);

    for (const [ns, sa, why] of [['weft-system', 'control-plane', /control plane's own identity/], ['ops', 'admin', /admin identity \(MeshConfig spec.adminIdentities\)/]] as const) {
      const r = await runWeft(['token', 'create', '--data-dir', mesh.dataDir, '-n', ns, '--service-account', sa]);
      assert.equal(r.code, 1, `token for ${ns}/${sa}: ${r.stdout}`);
      assert.equal(r.stdout, '', 'no token printed');
      assert.match(r.stderr, why);
    }

    // Registration: the early token is refused before it is spent.
    const rootPem = readFileSync(join(mesh.dataDir, 'ca', 'root-cert.pem'), 'utf8');
    const client = new ControlPlaneClient(cp(), TD, { rootPem });
    try {
      const key = await generateWorkloadKey(ADMIN);
      await assert.rejects(client.signCertificate(key.csrDer, early.stdout.trim()), (err: ServiceError) => {
        assert.equal(err.code, 7 /* PERMISSION_DENIED */);
        assert.match(err.details, /no join token may claim spiffe:\/\/cluster.local\/ns\/ops\/sa\/admin is an admin identity/);
        return true;
      });
      // A token for the control plane's identity signed with the mesh's own token key (as an older
      // weft could have issued one): refused on its claim, before anything else is looked at.
      const signingKey = createPrivateKey(readFileSync(join(mesh.dataDir, 'tokens', 'signing-key.pem')));
      const { rootFingerprint } = JSON.parse((await runWeft(['ca', 'show', '--data-dir', mesh.dataDir, '-o', 'json'])).stdout) as { rootFingerprint: string };
      const now = Math.floor(Date.now() / 1000);
      const cpToken = encodeJoinToken(
        { iss: `spiffe://${TD}`, sub: `spiffe://${TD}/ns/weft-system/sa/control-plane`, jti: 'A'.repeat(22), iat: now, exp: now + 600, once: false, ca: rootFingerprint },
        { privateKey: signingKey, publicKey: createPublicKey(signingKey), kid: jwkThumbprint(createPublicKey(signingKey)) },
      );
      const cpKey = await generateWorkloadKey(`spiffe://${TD}/ns/weft-system/sa/control-plane`);
      await assert.rejects(client.signCertificate(cpKey.csrDer, cpToken), (err: ServiceError) => {
        assert.equal(err.code, 7 /* PERMISSION_DENIED */);
        assert.match(err.details, /no join token may claim .* control plane's own identity/);
        return true;
      });
    } finally {
      client.close();
    }
    const listed = JSON.parse((await runWeft(['token', 'list', '--data-dir', mesh.dataDir, '-o', 'json'])).stdout) as { spiffeId: string; state: string }[];
    assert.equal(listed.find((t) => t.spiffeId === ADMIN)?.state, 'active', 'the refused --once token was not spent');

    for (const id of [ADMIN, `spiffe://${TD}/ns/weft-system/sa/control-plane`]) {
      const refused = await mint(id);
      assert.equal(refused.code, 1, `mint of ${id} without the flag`);
      assert.match(refused.stderr, /refusing to mint: .* pass --allow-privileged-identity/);
      const allowed = await mint(id, ['--allow-privileged-identity']);
      assert.equal(allowed.code, 0, allowed.stderr);
    }
  });

  test('revoking a workload under load: its requests fail with "certificate revoked" within seconds, the others go on; its old token cannot rejoin, a new one can', async (t) => {
    const details = await startWorkload(mesh, { service: 'details' });
    const revokedOne = await startWorkload(mesh, { service: 'productpage' });
    const bystander = await startWorkload(mesh, { service: 'reviews' });
    const victimLoad = load(revokedOne.outboundPort, 'details.default:9080', { concurrency: 2 });
    const otherLoad = load(bystander.outboundPort, 'details.default:9080', { concurrency: 2 });
    await until('both callers reach details', async () => (victimLoad.stats.ok > 20 && otherLoad.stats.ok > 20 ? true : undefined));
    assert.equal(victimLoad.stats.failed, 0, victimLoad.stats.reasons.join('\n'));

    const revokedAt = performance.now();
    const revoked = await runWeft(['ca', 'revoke', '--data-dir', mesh.dataDir, '--spiffe-id', `spiffe://${TD}/ns/default/sa/productpage`]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /REVOKED SERIAL[\s\S]*spiffe:\/\/cluster.local\/ns\/default\/sa\/productpage/);
    assert.match(revoked.stdout, /join tokens revoked: /);

    // Within a bounded wait the revoked workload's requests fail, saying why.
    const reason = await until('the revoked workload is refused with a clear reason', async () => {
      const r = await getViaProxy(revokedOne.outboundPort, 'details.default:9080');
      return r.status !== 200 && /certificate revoked/.test(r.body) ? r : undefined;
    });
    assert.equal(reason.status, 503);
    t.diagnostic(`from \`weft ca revoke\` (CLI start included) to the first refused request: ${Math.round(performance.now() - revokedAt)} ms`);
    for (let i = 0; i < 5; i++) {
      const r = await getViaProxy(revokedOne.outboundPort, 'details.default:9080');
      assert.equal(r.status, 503);
      assert.match(r.body, /certificate revoked/);
    }
    await victimLoad.stop();
    const others = await otherLoad.stop();
    assert.equal(others.failed, 0, `the bystander failed: ${others.reasons.join('\n')}`);
    assert.ok(others.ok > 20);

    // The server's sidecar refused or cut the revoked peer, and says so.
    const metrics = await (await fetch(`http://127.0.0.1:${details.adminPort}/stats`)).text();
    const closed = Number(/weft_sidecar_revoked_sessions_closed_total (\d+)/.exec(metrics)?.[1] ?? 0);
    const refused = Number(/weft_sidecar_peer_revoked_refused_total (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(closed + refused >= 1, `details counted no revoked peer:\n${metrics}`);
    assert.match(details.sidecar.output() + revokedOne.sidecar.output(), /certificate revoked/);
    // The revoked sidecar's own renewal is refused too; the CA audited the revocation with who asked.
    const audit = auditLines(mesh.dataDir);
    assert.ok(audit.some((l) => l.event === 'svid.revoked' && l.spiffeId === `spiffe://${TD}/ns/default/sa/productpage` && l.who === 'admin-token'), JSON.stringify(audit.filter((l) => l.event === 'svid.revoked')));

    // Its old token cannot bring it back.
    await stop([revokedOne.sidecar, revokedOne.app]);
    const [inbound, app] = [await freePort(), await freePort()];
    const again = startWeft('productpage-old-token', ['sidecar', '--control-plane', cp(), '--token-env', 'WEFT_JOIN_TOKEN', '--namespace', 'default', '--service', 'productpage', '--service-port', '9080', '--inbound', `127.0.0.1:${inbound}`, '--app', `127.0.0.1:${app}`], { WEFT_JOIN_TOKEN: revokedOne.token });
    mesh.procs.push(again);
    const code = await Promise.race([again.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 60_000))]);
    assert.notEqual(code, 'running', `a sidecar with the revoked token kept running:\n${again.output()}`);
    assert.notEqual(code, 0);
    assert.match(again.output(), /WEFT_TOKEN_REVOKED/, again.output());

    // A new token does.
    const fresh = await startWorkload(mesh, { service: 'productpage' });
    const ok = await until('the re-enrolled workload reaches details', async () => {
      const r = await getViaProxy(fresh.outboundPort, 'details.default:9080');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(ok.status, 200);
    await stop([fresh.sidecar, fresh.app, details.sidecar, details.app, bystander.sidecar, bystander.app]);
  });
});
