// Configuration delivery through real processes: each sidecar receives exactly the resources that
// concern it, ACKs them (weft status shows it), keeps its last good snapshot on disk, and starts
// from it while the control plane is down.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { startControlPlane, startWeft, startWorkload, stop, waitHttp, type Mesh, type Proc } from '../helpers/mesh.js';

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-only, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/productpage"] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: other-namespace, namespace: bank }
spec: { rules: [{}] }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: STRICT } }
`;

interface SidecarConfig {
  version: number;
  source: string;
  resources: string[];
  controlPlaneConnected: boolean;
}

async function configOf(adminPort: number): Promise<SidecarConfig> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/config`);
  return (await res.json()) as SidecarConfig;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  while (performance.now() < deadline) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

describe('configuration delivery', () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let conf: string;
  const extra: Proc[] = [];

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    conf = join(mesh.dataDir, 'admin.conf');
  });
  after(async () => {
    await stop([...extra, ...mesh.procs]);
    dir.cleanup();
  });

  test('each sidecar holds exactly its resources, ACKed; a restarted sidecar starts from disk while the control plane is down', async () => {
    const reviewsState = join(dir.dir, 'reviews-state');
    const reviews = await startWorkload(mesh, { service: 'reviews', sidecarArgs: ['--state-dir', reviewsState] });
    const details = await startWorkload(mesh, { service: 'details' });
    const applied = await runWeft(['apply', '-f', '-', '--config', conf], { input: POLICIES });
    assert.equal(applied.code, 0, applied.stderr);

    const rc = await until('reviews receives its policy', () => configOf(reviews.adminPort), (c) => c.resources.some((r) => r.startsWith('AuthorizationPolicy/default/reviews-only@')));
    assert.deepEqual(rc.resources.map((r) => r.split('@')[0]).sort(), ['AuthorizationPolicy/default/reviews-only', 'PeerAuthentication/default/default']);
    const dc = await until('details receives the namespace policy', () => configOf(details.adminPort), (c) => c.resources.some((r) => r.startsWith('PeerAuthentication/default/default@')));
    assert.deepEqual(dc.resources.map((r) => r.split('@')[0]), ['PeerAuthentication/default/default'], 'no other workload\'s or namespace\'s policy');

    const status = await until(
      'weft status shows both ACKed',
      async () => JSON.parse((await runWeft(['status', '-o', 'json', '--config', conf])).stdout) as { sidecars: { spiffeId: string; state: string; ackedVersion: number; certNotAfter?: string }[] },
      (s) => s.sidecars.length === 2 && s.sidecars.every((x) => x.state === 'ACK'),
    );
    const reviewsStatus = status.sidecars.find((s) => s.spiffeId.endsWith('/sa/reviews'))!;
    assert.equal(reviewsStatus.ackedVersion, (await configOf(reviews.adminPort)).version);
    assert.ok(reviewsStatus.certNotAfter && Date.parse(reviewsStatus.certNotAfter) > Date.parse('2026-01-01'));
    const table = await runWeft(['status', '--config', conf]);
    assert.match(table.stdout, /^NAMESPACE\s+SERVICE\s+VERSION\s+LABELS\s+SNAPSHOT\s+STATE\s+CERT NOT AFTER\s+LAST CONTACT\n/);
    assert.match(table.stdout, /\ndefault\s+reviews\s+\S+\s+\S+\s+\d+\s+ACK\s+/);

    // Sidecar and control plane go down; the sidecar comes back first, from its state directory.
    const version = (await configOf(reviews.adminPort)).version;
    const args = (reviews.sidecar.child.spawnargs as string[]).slice(2);
    await stop([reviews.sidecar, mesh.controlPlane]);
    const again = startWeft('reviews-sidecar-again', args, { WEFT_JOIN_TOKEN: reviews.token });
    extra.push(again);
    await waitHttp(`http://127.0.0.1:${reviews.adminPort}/healthz/ready`, again);
    const restored = await configOf(reviews.adminPort);
    assert.equal(restored.source, 'disk');
    assert.equal(restored.version, version);
    assert.equal(restored.controlPlaneConnected, false);
    assert.match(again.output(), /svid\.resumed/);

    // The control plane returns on the same addresses: the sidecar reconnects by itself.
    const cp = startWeft('control-plane-again', (mesh.controlPlane.child.spawnargs as string[]).slice(2));
    extra.push(cp);
    await until('the sidecar reconnects', () => configOf(reviews.adminPort), (c) => c.controlPlaneConnected && c.source === 'control-plane', 30_000);
  });
});
