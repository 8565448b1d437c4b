// A real OpenID provider behind real sidecars: the serving sidecar fetches the provider's jwks_uri
// itself, its access tokens get through, and when the provider rotates its key the sidecar picks
// up the new one on the first token that carries it (after the 30 s refresh cooldown at most),
// without a restart; the retired key's tokens are refused from then on, and every attack is refused.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { AdminClient, loadAdminConfig } from '../../src/cli/admin/client.js';
import { tempDir } from '../helpers/cli.js';
import { startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';
import { reviewsJwtPolicies } from '../policy/fixtures.js';
import { OpenIdProvider, providerKey, RESOURCE } from './oidc.js';

function call(w: Workload, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const headers = { host: 'reviews.default:9080', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
    const req = request({ host: '127.0.0.1', port: w.outboundPort, path: '/', headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** Calls until `status` comes back, bounded by `ms`; returns the last answer. */
async function until(w: Workload, token: string | undefined, status: number, ms: number): Promise<{ status: number; body: string }> {
  const deadline = performance.now() + ms;
  for (;;) {
    const r = await call(w, token);
    if (r.status === status || performance.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 500));
  }
}

describe('RequestAuthentication with a real OpenID provider, through the sidecars', { timeout: 120_000 }, () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let productpage: Workload;
  let idp: OpenIdProvider;

  before(async () => {
    idp = await OpenIdProvider.start(await providerKey('ES256', 'idp-key-1'));
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    await startWorkload(mesh, { service: 'reviews' });
    productpage = await startWorkload(mesh, { service: 'productpage' });
    const yaml = reviewsJwtPolicies(`{ issuer: "${idp.issuer}", jwksUri: "${idp.jwksUri}", audiences: ["${RESOURCE}"] }`, idp.issuer);
    const api = new AdminClient(loadAdminConfig(join(mesh.dataDir, 'admin.conf')));
    await api.call('POST', '/v1/apply', { sources: [{ file: 'idp.yaml', text: yaml }], dryRun: false });
    const r = await until(productpage, undefined, 403, 15_000);
    assert.equal(r.status, 403, 'the policy never came into force');
  });
  after(async () => {
    await stop(mesh?.procs ?? []);
    await idp?.stop();
    dir?.cleanup();
  });

  test('the provider\'s token gets through; a rotation is picked up without a restart; the old key is retired', async () => {
    const first = await idp.accessToken();
    const ok = await call(productpage, first);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(idp.jwksHits, 1, 'one fetch of the key set, not one per request');
    for (let i = 0; i < 20; i++) assert.equal((await call(productpage, first)).status, 200);
    assert.equal(idp.jwksHits, 1);

    await idp.restart(await providerKey('RS256', 'idp-key-2'));
    const second = await idp.accessToken();
    // Unknown kid: refetched as soon as the 30 s cooldown since the last fetch allows.
    const rotated = await until(productpage, second, 200, 45_000);
    assert.equal(rotated.status, 200, rotated.body);
    assert.ok(idp.jwksHits >= 2 && idp.jwksHits <= 3, `jwks fetched ${idp.jwksHits} times`);
    const retired = await call(productpage, first);
    assert.equal(retired.status, 401);
    assert.equal(retired.body, 'Jwt verification fails: unknown kid');
  });

  test('fail/attacks with the provider\'s issuer are 401 (403 for a wrong audience, as in Envoy) and never reach the app', async () => {
    const real = await idp.accessToken();
    const [h, p] = real.split('.') as [string, string];
    const attacker = await providerKey('ES256', 'idp-key-2');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    // The HMAC confusion: HS256 keyed with the provider's public key as served at jwks_uri.
    const publicJwk = JSON.stringify((await idp.jwks()).keys[0]);
    const hmacHeader = b64({ alg: 'HS256', kid: 'idp-key-2' });
    const hmac = `${hmacHeader}.${p}.${createHmac('sha256', publicJwk).update(`${hmacHeader}.${p}`).digest('base64url')}`;
    const claims = { iss: idp.issuer, sub: 'admin', aud: RESOURCE };
    const attacks: [string, number, string][] = [
      [`${h}.${p}.${'A'.repeat(342)}`, 401, 'Jwt verification fails: bad signature'],
      [`${b64({ alg: 'none' })}.${p}.`, 401, 'Jwt verification fails: unsigned token (alg none)'],
      [hmac, 401, 'Jwt verification fails: hmac algorithm not allowed'],
      [await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'idp-key-2' }).setExpirationTime('5m').sign(attacker.privateKey), 401, 'Jwt verification fails: unknown kid'],
      ['not-a-jwt', 401, 'Jwt verification fails: malformed token'],
      // Signed by the provider itself, but not for now or not for this audience.
      [await idp.sign({ ...claims, nbf: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 }), 401, 'Jwt verification fails: token not yet valid'],
      [await idp.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 3600 }), 401, 'Jwt verification fails: token expired'],
      // Envoy answers an audience mismatch 403, and so does weft (Istio's behaviour).
      [await idp.sign({ ...claims, aud: 'urn:other', exp: Math.floor(Date.now() / 1000) + 300 }), 403, 'Jwt verification fails: audience not allowed'],
    ];
    for (const [token, status, body] of attacks) {
      const r = await call(productpage, token);
      assert.deepEqual([r.status, r.body], [status, body], token.slice(0, 40));
    }
    assert.equal((await call(productpage, real)).status, 200, 'the genuine token still passes');
  });
});
