// `weft authz check` against a real control plane with a registered workload: the decision, the
// deciding policy and rule, the failed condition, path normalization and STRICT mTLS.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { reviewsPolicies } from './fixtures.js';
import { startControlPlane, startWorkload, stop, type Mesh } from '../helpers/mesh.js';

const POLICIES = `${reviewsPolicies({ getOnly: true })}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin-role, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules: [{ when: [{ key: "request.headers[x-role]", values: ["admin"] }] }]
`;

describe('weft authz check', () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let conf: string;
  const check = (args: string[]) => runWeft(['authz', 'check', '--to', 'reviews.default', '--config', conf, ...args]);

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    conf = join(mesh.dataDir, 'admin.conf');
    await startWorkload(mesh, { service: 'reviews' });
    const applied = await runWeft(['apply', '-f', '-', '--config', conf], { input: POLICIES });
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(async () => {
    await stop(mesh.procs);
    dir.cleanup();
  });

  test('an allowed request names the ALLOW policy and rule', async () => {
    const r = await check(['--from-principal', 'spiffe://cluster.local/ns/default/sa/productpage', '--path', '/reviews/1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reviews\.default \(app=reviews,version=v1\): ALLOW\n/);
    assert.match(r.stdout, /ALLOW by ALLOW policy default\/from-productpage, rule 0/);
  });

  test('a denial names the nearest policy and the condition that failed', async () => {
    const r = await check(['--from-principal', 'cluster.local/ns/default/sa/details', '--method', 'GET', '--path', '/reviews/1']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /DENY: no ALLOW policy matched; nearest: default\/from-productpage, rule 0/);
    assert.match(r.stdout, /failed: .*principals.*cluster\.local\/ns\/default\/sa\/details/);
  });

  test('the path is normalized before matching: dot segments cannot reach /admin', async () => {
    const r = await check(['--from-principal', 'cluster.local/ns/default/sa/productpage', '--path', '/reviews/../admin', '-o', 'json']);
    assert.equal(r.code, 1);
    const res = JSON.parse(r.stdout) as { path: string; workloads: { decision: string; authorization: { policy: string; action: string } }[] };
    assert.equal(res.path, '/admin');
    assert.equal(res.workloads[0]!.authorization.action, 'DENY');
    assert.equal(res.workloads[0]!.authorization.policy, 'default/deny-admin');
  });

  test('plaintext is refused at the connection under STRICT; unknown services and bad flags are errors', async () => {
    const r = await check(['--from-plaintext']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /mTLS mode STRICT: a plaintext connection is refused/);
    const unknown = await runWeft(['authz', 'check', '--to', 'nope.default', '--from-plaintext', '--config', conf]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no registered workload serves nope\.default/);
    const both = await check(['--from-plaintext', '--from-principal', 'x']);
    assert.equal(both.code, 2);
  });

  test('a header given twice is a repeated header, matched as the sidecar does; headers the sidecar owns are ignored', async () => {
    const from = ['--from-principal', 'cluster.local/ns/default/sa/productpage', '--path', '/reviews/1'];
    const repeated = await check([...from, '--header', 'x-role=user', '--header', 'X-Role=admin']);
    assert.equal(repeated.code, 1, repeated.stdout);
    assert.match(repeated.stdout, /DENY by DENY policy default\/deny-admin-role/);
    const once = await check([...from, '--header', 'x-role=user']);
    assert.equal(once.code, 0, once.stdout);
    const owned = await check([...from, '--header', 'x-forwarded-client-cert=By=x', '--header', 'x-weft-peer=y', '-o', 'json']);
    assert.equal(owned.code, 0, owned.stderr);
    assert.deepEqual((JSON.parse(owned.stdout) as { workloads: { ignoredHeaders?: string[] }[] }).workloads[0]!.ignoredHeaders, ['x-forwarded-client-cert', 'x-weft-peer']);
  });
});
