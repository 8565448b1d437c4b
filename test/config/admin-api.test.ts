// The admin API and the kubectl-like CLI against a real control plane: authentication (401/403),
// apply/get/delete with all-or-nothing validation, optimistic concurrency, and admin.conf lookup.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminClient, loadAdminConfig } from '../../src/cli/admin/client.js';
import { runCommand, runWeft, tempDir } from '../helpers/cli.js';
import { startControlPlane, stop, type Mesh } from '../helpers/mesh.js';

const ALLOW = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-get
  namespace: shop
spec:
  selector:
    matchLabels: { app: reviews }
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET"]
`;

const BAD_SECOND = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict, namespace: shop }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: broken, namespace: shop }
spec:
  rules:
  - from:
    - source:
        ipBlocks: ["10.0.0.0/8", "300.1.2.3"]
`;

describe('admin API', () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let conf: string;
  const weft = (args: string[], input?: string) => runWeft([...args, '--config', conf], { input });

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    conf = join(mesh.dataDir, 'admin.conf');
  });
  after(async () => {
    await stop(mesh.procs);
    dir.cleanup();
  });

  test('admin.conf and the admin token are written 0600', () => {
    assert.equal(statSync(conf).mode & 0o777, 0o600);
    assert.equal(statSync(join(mesh.dataDir, 'admin-token')).mode & 0o777, 0o600);
  });

  test('anonymous calls get 401, a wrong token 401, plain HTTP is refused, health needs nothing', async () => {
    const url = `https://127.0.0.1:${mesh.cpAdmin}/v1/resources`;
    const anon = await runCommand('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', url]);
    assert.equal(anon.stdout, '401');
    const wrong = await runCommand('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Authorization: Bearer weft-admin-nope', url]);
    assert.equal(wrong.stdout, '401');
    const plain = await runCommand('curl', ['-s', '-w', '\n%{http_code}', `http://127.0.0.1:${mesh.cpAdmin}/v1/resources`]);
    assert.match(plain.stdout, /TLS only[\s\S]*\n400$/);
    const health = await runCommand('curl', ['-s', `http://127.0.0.1:${mesh.cpAdmin}/healthz/ready`]);
    assert.equal(health.stdout, 'ready\n');
  });

  test('an SVID that is not an admin identity gets 403; once MeshConfig lists it, 200', async () => {
    const out = join(dir.dir, 'ops');
    const minted = await runWeft(['ca', 'mint', '--data-dir', mesh.dataDir, '--spiffe-id', 'spiffe://cluster.local/ns/ops/sa/admin', '--out', out]);
    assert.equal(minted.code, 0, minted.stderr);
    const curl = () =>
      runCommand('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--cert', join(out, 'svid.pem'), '--key', join(out, 'key.pem'), `https://127.0.0.1:${mesh.cpAdmin}/v1/resources`]);
    assert.equal((await curl()).stdout, '403');
    const mc = `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: default }\nspec:\n  adminIdentities: ["spiffe://cluster.local/ns/ops/sa/admin"]\n`;
    const applied = await weft(['apply', '-f', '-'], mc);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((await curl()).stdout, '200');
    // A certificate from another CA is no admin, whatever it claims.
    const other = tempDir();
    try {
      await runWeft(['ca', 'init', '--data-dir', other.dir]);
      await runWeft(['ca', 'mint', '--data-dir', other.dir, '--spiffe-id', 'spiffe://cluster.local/ns/ops/sa/admin', '--out', join(other.dir, 'm')]);
      const forged = await runCommand('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--cert', join(other.dir, 'm', 'svid.pem'), '--key', join(other.dir, 'm', 'key.pem'), `https://127.0.0.1:${mesh.cpAdmin}/v1/resources`]);
      assert.equal(forged.stdout, '401');
    } finally {
      other.cleanup();
    }
  });

  test('apply prints created, then unchanged, then configured; get shows it; delete removes it', async () => {
    const file = join(dir.dir, 'allow.yaml');
    writeFileSync(file, ALLOW);
    let r = await weft(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'authorizationpolicy.security.istio.io/allow-get created\n');
    r = await weft(['apply', '-f', file]);
    assert.equal(r.stdout, 'authorizationpolicy.security.istio.io/allow-get unchanged\n');
    writeFileSync(file, ALLOW.replace('"GET"', '"GET", "HEAD"'));
    r = await weft(['apply', '-f', file, '--dry-run']);
    assert.match(r.stdout, /\+\s+- HEAD/);
    assert.match(r.stdout, /allow-get configured \(dry run\)/);
    r = await weft(['get', 'ap', 'allow-get', '-n', 'shop', '-o', 'yaml']);
    assert.doesNotMatch(r.stdout, /HEAD/, 'a dry run changes nothing');
    r = await weft(['apply', '-f', file]);
    assert.equal(r.stdout, 'authorizationpolicy.security.istio.io/allow-get configured\n');
    r = await weft(['get', 'authorizationpolicies', '-n', 'shop']);
    assert.match(r.stdout, /^NAME\s+ACTION\s+AGE\nallow-get\s+ALLOW\s+\d+s\n$/);
    r = await weft(['get', 'ap', '-A', '-o', 'wide']);
    assert.match(r.stdout, /NAMESPACE\s+NAME\s+ACTION\s+AGE\s+RESOURCE VERSION\s+GENERATION\nshop\s+allow-get\s+ALLOW\s+\d+s\s+\d+\s+2\n/);
    r = await weft(['delete', 'ap', 'allow-get', '-n', 'shop']);
    assert.equal(r.stdout, 'authorizationpolicy.security.istio.io/allow-get deleted\n');
    r = await weft(['get', 'ap', 'allow-get', '-n', 'shop']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found/);
  });

  test('one bad document refuses the whole input with file:line:column and field path', async () => {
    const file = join(dir.dir, 'bad.yaml');
    writeFileSync(file, BAD_SECOND);
    const r = await weft(['apply', '-f', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:13:\\d+: spec\\.rules\\[0\\]\\.from\\[0\\]\\.source\\.ipBlocks\\[1\\]: .*WEFT_CONFIG_INVALID_CIDR`));
    const get = await weft(['get', 'pa', '-n', 'shop', '-o', 'json']);
    assert.deepEqual(JSON.parse(get.stdout).items, [], 'the valid first document was not applied either');
  });

  test('a MeshConfig naming another trust domain than the CA\'s is refused', async () => {
    const r = await weft(['apply', '-f', '-'], 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: default }\nspec: { trustDomain: other.org }\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /trustDomain other\.org is not this mesh's trust domain cluster\.local/);
  });

  test('an update naming a stale resourceVersion is refused with 409 and changes nothing', async () => {
    const file = join(dir.dir, 'allow.yaml');
    writeFileSync(file, ALLOW);
    await weft(['apply', '-f', file]);
    const got = await weft(['get', 'ap', 'allow-get', '-n', 'shop', '-o', 'yaml']);
    const edited = got.stdout.replace('- GET', '- POST');
    await weft(['apply', '-f', '-'], got.stdout.replace('- GET', '- PUT'));
    const stale = await weft(['apply', '-f', '-'], edited);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /WEFT_ADMIN_CONFLICT|conflict|modified/i);
    const now = await weft(['get', 'ap', 'allow-get', '-n', 'shop', '-o', 'yaml']);
    assert.match(now.stdout, /- PUT/);
  });

  test('analyze lints the live configuration and files as if applied; --offline needs no control plane', async () => {
    const file = join(dir.dir, 'ghost.yaml');
    writeFileSync(file, ALLOW.replace('allow-get', 'ghost').replace('app: reviews', 'app: nobody'));
    const live = await weft(['analyze', '-f', file, '-o', 'json']);
    assert.equal(live.code, 0, live.stderr);
    const findings = JSON.parse(live.stdout).findings as { code: string; resource: string }[];
    assert.ok(findings.some((f) => f.code === 'WA001' && f.resource === 'AuthorizationPolicy/shop/ghost'), live.stdout);
    assert.equal((await weft(['get', 'ap', 'ghost', '-n', 'shop'])).code, 1, 'analyze applies nothing');
    const offline = await runWeft(['analyze', '--offline', '-f', file]);
    assert.equal(offline.code, 0);
    assert.match(offline.stdout, /WA000/);
    assert.doesNotMatch(offline.stdout, /^\S+\s+WA001\s/m, 'no registry lint fires offline');
  });

  test('every example of Istio\'s reference documentation applies unchanged through the admin API', async () => {
    const api = new AdminClient(loadAdminConfig(conf));
    const dirPath = new URL('../fixtures/config/valid/', import.meta.url).pathname;
    let applied = 0;
    for (const file of readdirSync(dirPath)) {
      for (const example of readFileSync(join(dirPath, file), 'utf8').split(/^(?=### )/m).filter((t) => t.trim() !== '')) {
        if (/kind: MeshConfig/.test(example) && /adminIdentities/.test(example)) continue; // keep this test's admin set
        const res = await api.call<{ results: { action: string }[] }>('POST', '/v1/apply', { sources: [{ file, text: example }], dryRun: false });
        assert.ok(res.results.length > 0 && res.results.every((r) => ['created', 'configured', 'unchanged'].includes(r.action)), example);
        applied++;
      }
    }
    assert.ok(applied > 50, `applied ${applied} examples`);
  });

  test('every change is in the audit log: who, what, before and after', () => {
    const lines = readFileSync(join(mesh.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const configured = lines.find((l) => l.event === 'config.applied' && l.action === 'configured' && l.resource === 'AuthorizationPolicy/shop/allow-get');
    assert.ok(configured, 'a configured entry');
    assert.equal(configured.who, 'admin-token');
    assert.ok(configured.before && configured.after);
    assert.ok(lines.some((l) => l.event === 'config.deleted' && l.resource === 'AuthorizationPolicy/shop/allow-get'));
    assert.ok(!readFileSync(join(mesh.dataDir, 'audit.log'), 'utf8').includes('weft-admin-'), 'the admin token is never logged');
  });

  test('a missing admin config names the file tried and how to fix it', async () => {
    const r = await runWeft(['get', 'ap', '--config', join(dir.dir, 'nope.conf')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no admin config at .*nope\.conf \(chosen by --config\): start a mesh with `weft up`/);
    const env = await runWeft(['status'], { env: { ...process.env, WEFT_CONFIG: join(dir.dir, 'env.conf') } });
    assert.match(env.stderr, /env\.conf \(chosen by \$WEFT_CONFIG\)/);
    const garbled = join(dir.dir, 'garbled.conf');
    writeFileSync(garbled, 'kind: AdminConfig\nserver: http://x\n');
    const bad = await runWeft(['status', '--config', garbled]);
    assert.match(bad.stderr, /garbled\.conf: server must be https:\/\/HOST:PORT/);
  });
});
