// RequestAuthentication in real sidecars (inline JWKS; test/jwt covers a real OpenID provider):
// no token passes authentication but not a policy requiring requestPrincipals; a valid token gets
// through; forged, expired, foreign-issuer and alg:none tokens get 401 and never reach the app.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { AdminClient, loadAdminConfig } from '../../src/cli/admin/client.js';
import { tempDir } from '../helpers/cli.js';
import { startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';
import { reviewsJwtPolicies } from './fixtures.js';

const ISSUER = 'https://issuer.test';

function call(w: Workload, headers: Record<string, string> = {}, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: w.outboundPort, path, headers: { host: 'reviews.default:9080', ...headers }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

describe('RequestAuthentication in the sidecars', () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let productpage: Workload;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  const sign = (claims: Record<string, unknown>, opts: { key?: CryptoKey; exp?: string; iss?: string } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(opts.iss ?? ISSUER).setSubject('alice').setIssuedAt().setExpirationTime(opts.exp ?? '5m').sign(opts.key ?? key);

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    await startWorkload(mesh, { service: 'reviews' });
    productpage = await startWorkload(mesh, { service: 'productpage' });
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
    const yaml = reviewsJwtPolicies(`{ issuer: "${ISSUER}", jwks: '${jwks}' }`, ISSUER, '[{ key: "request.auth.claims[groups]", values: ["readers"] }]');
    const api = new AdminClient(loadAdminConfig(join(mesh.dataDir, 'admin.conf')));
    await api.call('POST', '/v1/apply', { sources: [{ file: 'jwt.yaml', text: yaml }], dryRun: false });
    const deadline = performance.now() + 15_000;
    while ((await call(productpage)).status !== 403) {
      if (performance.now() > deadline) throw new Error('policy not in force');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    await stop(mesh.procs);
    dir.cleanup();
  });

  test('no token: authentication passes, the policy requiring a request principal refuses', async () => {
    const r = await call(productpage);
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
  });

  test('a valid token with the claim the policy needs gets through; a list claim matches per element', async () => {
    const r = await call(productpage, { authorization: `Bearer ${await sign({ groups: ['admins', 'readers'] })}` });
    assert.equal(r.status, 200, r.body);
    const wrongGroup = await call(productpage, { authorization: `Bearer ${await sign({ groups: ['writers'] })}` });
    assert.equal(wrongGroup.status, 403);
  });

  test('the token may come as the access_token query parameter', async () => {
    const r = await call(productpage, {}, `/?access_token=${await sign({ groups: ['readers'] })}`);
    assert.equal(r.status, 200, r.body);
  });

  test('forged, expired, foreign and unsigned tokens are 401 and never reach the app', async () => {
    const forged = await sign({ groups: ['readers'] }, { key: otherKey });
    const expired = await new SignJWT({ groups: ['readers'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setSubject('alice').setIssuedAt(1_600_000_000).setExpirationTime(1_600_000_600).sign(key);
    const foreign = await sign({ groups: ['readers'] }, { iss: 'https://evil.test' });
    const [h, p] = (await sign({ groups: ['readers'] })).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${p}.`;
    for (const [name, token] of [['forged', forged], ['expired', expired], ['foreign issuer', foreign], ['alg none', none], ['malformed', `${h}.garbage`]] as const) {
      const r = await call(productpage, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, `${name}: ${r.status} ${r.body}`);
      assert.match(r.body, /^Jwt verification fails: /);
    }
  });
});
