// `weft up` end to end: real processes, real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommand, runWeft, tempDir } from '../helpers/cli.js';
import { startWeft, type Proc } from '../helpers/mesh.js';

async function waitForChecks(up: Proc): Promise<string> {
  const deadline = performance.now() + 100_000;
  while (!/press Ctrl-C|checks failed|logs: /.test(up.output()) && performance.now() < deadline && up.child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 200));
  }
  return up.output();
}

test('weft up starts the demo mesh, every check passes, says how to call it, and Ctrl-C stops every process with exit 0', { timeout: 180_000 }, async () => {
  const tmp = tempDir();
  try {
    const dataDir = join(tmp.dir, '.weft');
    const up = startWeft('up', ['up', '--data-dir', dataDir]);
    let out = await waitForChecks(up);
    while (!/press Ctrl-C/.test(out) && up.child.exitCode === null) out = await waitForChecks(up);
    assert.match(out, /all 6 checks passed/, out);
    for (const edge of ['productpage v1 -> details v1', 'productpage v1 -> reviews v1', 'productpage v1 -> reviews v2', 'reviews v2 -> ratings v1']) {
      assert.match(out, new RegExp(`${edge}\\s+✔ ok\\s+mTLS spiffe://cluster\\.local/ns/default/sa/\\S+ -> spiffe://cluster\\.local/ns/default/sa/\\S+`), edge);
    }
    assert.match(out, /plaintext -> details inbound :\d+\s+✔ ok\s+refused/);
    assert.match(out, /SVID from another CA -> details inbound :\d+\s+✔ ok\s+refused/);
    // Its output is a pipe here: plain lines, no terminal control sequences.
    assert.ok(!out.includes('\u001b') && !out.includes('\r'), JSON.stringify(out.slice(0, 400)));
    assert.match(out, /^starting control plane\.\.\.\nstarting productpage v1 \(1\/5\)\.\.\.\n/);
    assert.match(out, /resources in force: none/);
    assert.match(out, new RegExp(`logs: +${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/logs\\n`));

    // The demo answers the curl it prints, through the mesh (the callee's sidecar names the caller).
    const curl = /call the demo: +(curl http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out)?.[1];
    assert.ok(curl, out);
    const answer = await runCommand('/bin/sh', ['-c', `${curl} -s --max-time 20`]);
    assert.match(answer.stdout, /"service":"productpage".*"caller":"spiffe:\/\/cluster\.local\/ns\/default\/sa\/productpage"/);

    // The registry and the sidecars, as `weft get` and `weft status` show them.
    const conf = ['--config', join(dataDir, 'admin.conf')];
    const [status, services, endpoints, json, yaml] = await Promise.all([
      runWeft(['status', ...conf]),
      runWeft(['get', 'services', ...conf]),
      runWeft(['get', 'ep', '-A', ...conf]),
      runWeft(['get', 'svc', '-o', 'json', ...conf]),
      runWeft(['get', 'services', 'reviews', '-o', 'yaml', ...conf]),
    ]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^NAMESPACE\s+SERVICE\s+VERSION\s+LABELS\s+SNAPSHOT\s+STATE\s+CERT NOT AFTER\s+LAST CONTACT\n/);
    for (const [service, version] of [['details', 'v1'], ['productpage', 'v1'], ['ratings', 'v1'], ['reviews', 'v1'], ['reviews', 'v2']]) {
      assert.match(status.stdout, new RegExp(`\\ndefault\\s+${service}\\s+${version}\\s+app=${service},version=${version}\\s+\\d+\\s+(ACK|PENDING \\(last ACK \\d+\\))\\s`), `${service} ${version}:\n${status.stdout}`);
    }
    assert.equal(services.code, 0, services.stderr);
    assert.match(services.stdout, /^NAME\s+PORT\(S\)\s+ENDPOINTS\s+VERSIONS\n/);
    assert.match(services.stdout, /\nreviews\s+9080\/HTTP\s+2\s+v1,v2\n/);
    assert.match(services.stdout, /\nratings\s+9080\/HTTP\s+1\s+v1\n/);
    assert.equal(endpoints.code, 0, endpoints.stderr);
    assert.match(endpoints.stdout, /^NAMESPACE\s+NAME\s+ENDPOINTS\n/);
    assert.match(endpoints.stdout, /\ndefault\s+reviews\s+127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\n/);
    const list = JSON.parse(json.stdout) as { kind: string; items: { metadata: { name: string }; endpoints: number; identities: string[] }[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((i) => i.metadata.name).sort(), ['details', 'productpage', 'ratings', 'reviews']);
    assert.equal(list.items.find((i) => i.metadata.name === 'reviews')?.endpoints, 2);
    assert.deepEqual(list.items.find((i) => i.metadata.name === 'reviews')?.identities, ['spiffe://cluster.local/ns/default/sa/reviews']);
    assert.match(yaml.stdout, /^kind: Service\nmetadata:\n {2}name: reviews\n {2}namespace: default\n/);
    const missing = await runWeft(['get', 'services', 'nosuch', ...conf]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /services "nosuch" not found in namespace default/);

    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0);
    assert.match(up.output(), /stopped\./);
  } finally {
    tmp.cleanup();
  }
});

test('weft up lists the resources in force and a refused hop says why: status, and the policy that decided', { timeout: 180_000 }, async () => {
  const tmp = tempDir();
  try {
    const dataDir = join(tmp.dir, '.weft');
    // A policy left behind by an earlier session, as `weft apply` would have stored it.
    mkdirSync(join(dataDir, 'config', 'resources', 'AuthorizationPolicy', 'default'), { recursive: true });
    writeFileSync(
      join(dataDir, 'config', 'resources', 'AuthorizationPolicy', 'default', 'deny-ratings.yaml'),
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny-ratings\n  namespace: default\nspec:\n  selector:\n    matchLabels:\n      app: ratings\n  action: DENY\n  rules:\n  - {}\n',
    );
    const up = startWeft('up', ['up', '--data-dir', dataDir, '--no-wait']);
    assert.equal(await up.exited, 1, up.output());
    const out = up.output();
    assert.match(out, /resources in force \(1;[^\n]*\n\nKIND\s+NAMESPACE\s+NAME\nAuthorizationPolicy\s+default\s+deny-ratings\n/);
    assert.match(out, /productpage v1 -> details v1\s+✔ ok/);
    assert.match(out, /reviews v2 -> ratings v1\s+✘ FAILED\s+HTTP 403: RBAC: access denied; DENY by DENY policy default\/deny-ratings, rule 0\n/);
    assert.match(out, /1 of 6 checks failed/);
  } finally {
    tmp.cleanup();
  }
});
