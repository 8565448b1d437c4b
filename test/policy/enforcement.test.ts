// AuthorizationPolicy enforced by real sidecars: a caller the policy names gets through, another
// gets 403 `RBAC: access denied` and the app never sees it, and path tricks cannot reach a denied
// path (the app receives the normalized path).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand, runWeft, tempDir } from '../helpers/cli.js';
import { reviewsPolicies } from './fixtures.js';
import { startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';

const POLICIES = reviewsPolicies({ getOnly: false });

/** GET through a sidecar's outbound proxy with a raw request target (no client-side normalization). */
function get(w: Workload, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: w.outboundPort, path, headers: { host: 'reviews.default:9080' }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('authorization in the sidecars', () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let productpage: Workload;
  let reviews: Workload;
  let details: Workload;

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    reviews = await startWorkload(mesh, { service: 'reviews' });
    productpage = await startWorkload(mesh, { service: 'productpage' });
    details = await startWorkload(mesh, { service: 'details' });
    const applied = await runWeft(['apply', '-f', '-', '--config', join(mesh.dataDir, 'admin.conf')], { input: POLICIES });
    assert.equal(applied.code, 0, applied.stderr);
    await until('the policy is in force', async () => (await get(details, '/')).status === 403);
  });
  after(async () => {
    await stop(mesh.procs);
    dir.cleanup();
  });

  test('the principal the ALLOW policy names gets through; another gets 403 RBAC: access denied', async () => {
    const ok = await get(productpage, '/reviews/1?x=1');
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).caller, 'spiffe://cluster.local/ns/default/sa/productpage');
    const denied = await get(details, '/reviews/1');
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'RBAC: access denied');
  });

  test('path tricks cannot reach a denied path; the app receives the normalized path', async () => {
    for (const path of ['/admin', '/admin/users', '/reviews/../admin', '/./admin', '/admin/./users', '/%61dmin']) {
      const r = await get(productpage, path);
      assert.equal(r.status, 403, `${path} -> ${r.status} ${r.body}`);
    }
    const normalized = await get(productpage, '/reviews/./1/../2?q=a/../b');
    assert.equal(normalized.status, 200);
    assert.equal(JSON.parse(normalized.body).path, '/reviews/2?q=a/../b');
    const bad = await get(productpage, '/reviews/%zz');
    assert.equal(bad.status, 400);
  });

  test('PERMISSIVE serves plaintext without a principal, through the same policies; STRICT refuses it', async () => {
    const conf = join(mesh.dataDir, 'admin.conf');
    const plain = () => runCommand('curl', ['-s', '-m', '5', '-w', '\n%{http_code}', `http://127.0.0.1:${reviews.inboundPort}/reviews/1`, '-H', 'x-forwarded-client-cert: By=x;URI=spiffe://cluster.local/ns/default/sa/productpage']);
    assert.equal((await plain()).stdout.split('\n').pop(), '000', 'STRICT (the default): the connection is closed unanswered');
    const permissive = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: reviews, namespace: default }\nspec: { selector: { matchLabels: { app: reviews } }, mtls: { mode: PERMISSIVE } }\n';
    assert.equal((await runWeft(['apply', '-f', '-', '--config', conf], { input: permissive })).code, 0);
    await until('PERMISSIVE in force', async () => (await plain()).stdout.split('\n').pop() !== '000');
    const refused = await plain();
    assert.equal(refused.stdout, 'RBAC: access denied\n403', 'a plaintext caller has no principal, so the ALLOW policy for productpage refuses it, forged XFCC or not');
    const open = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: plaintext-health, namespace: default }\nspec: { selector: { matchLabels: { app: reviews } }, rules: [{ to: [{ operation: { paths: ["/health*"] } }] }] }\n';
    assert.equal((await runWeft(['apply', '-f', '-', '--config', conf], { input: open })).code, 0);
    await until('the open path is allowed', async () => (await runCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${reviews.inboundPort}/healthcheck`])).stdout === '200');
    const body = JSON.parse((await runCommand('curl', ['-s', `http://127.0.0.1:${reviews.inboundPort}/healthcheck`, '-H', 'x-forwarded-client-cert: URI=spiffe://evil'])).stdout) as { caller: string | null };
    assert.equal(body.caller, null, 'a plaintext client\'s x-forwarded-client-cert never reaches the app');
    assert.equal((await get(productpage, '/reviews/1')).status, 200, 'mesh peers keep using mTLS');
    assert.equal((await runWeft(['delete', 'pa', 'reviews', '--config', conf])).code, 0);
    await until('STRICT again', async () => (await plain()).stdout.split('\n').pop() === '000');
  });

  test('refusals are logged with the deciding policy', () => {
    const sidecar = mesh.procs.find((p) => p.name === 'reviews-sidecar')!;
    assert.match(sidecar.output(), /DENY: no ALLOW policy matched; nearest: default\/from-productpage.*"event":"inbound\.denied"/);
    assert.match(sidecar.output(), /DENY by DENY policy default\/deny-admin.*"event":"inbound\.denied"/);
  });
});
