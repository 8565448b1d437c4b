// NACK and last good, over the real gRPC stream: a sidecar agent that refuses a snapshot keeps
// the one it had, the control plane shows the NACK and its reason, and the next good snapshot is
// ACKed and replaces it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SidecarAgent } from '../../src/agent/index.js';
import { JoinTokenStore } from '../../src/attest/index.js';
import { CertificateAuthority } from '../../src/ca/index.js';
import { MemoryConfigStore, parseResources, type Resource } from '../../src/config/index.js';
import { ControlPlane } from '../../src/controlplane/server.js';
import { tempDir } from '../helpers/cli.js';

const policy = (name: string): Resource[] => {
  const r = parseResources(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: default }\nspec: { rules: [{}] }\n`, 'p.yaml');
  if (!r.ok) throw new Error('bad fixture');
  return r.value;
};

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a NACKed snapshot leaves the last good one in force and shows in the control plane\'s status', async () => {
  const { dir, cleanup } = tempDir();
  const store = new MemoryConfigStore();
  const ca = CertificateAuthority.init(join(dir, 'cp'), { trustDomain: 'cluster.local' });
  const cp = new ControlPlane({ dataDir: join(dir, 'cp'), listen: { host: '127.0.0.1', port: 0 }, store });
  await cp.start();
  const token = JoinTokenStore.open(join(dir, 'cp')).create({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'web', caFingerprint: ca.rootFingerprint, ttlMs: 60_000 });
  const agent = new SidecarAgent({
    controlPlane: { host: '127.0.0.1', port: cp.port },
    token: token.token,
    accept: (snapshot) => {
      if (snapshot.resources.some((r) => r.includes('"refuse-me"'))) throw new Error('policy refuse-me cannot be compiled here');
    },
  });
  try {
    await agent.start();
    await store.apply(policy('good'));
    await agent.join({ namespace: 'default', services: ['web'], ports: [{ name: 'http', port: 80, protocol: 'HTTP' }], labels: { app: 'web' }, address: '127.0.0.1', inboundPort: 1 });
    await until('the good policy is in force', () => agent.snapshot?.resources.some((r) => r.includes('"good"')) === true);
    const goodVersion = agent.snapshot!.version;

    await store.apply(policy('refuse-me'));
    await until('the control plane sees the NACK', () => cp.subscribers()[0]?.state === 'NACK');
    const nacked = cp.subscribers()[0]!;
    assert.equal(nacked.nackReason, 'policy refuse-me cannot be compiled here');
    assert.equal(nacked.ackedVersion, goodVersion, 'the last ACKed version is still the good one');
    assert.equal(agent.snapshot!.version, goodVersion, 'the agent keeps the last good snapshot');
    assert.ok(!agent.snapshot!.resources.some((r) => r.includes('refuse-me')));

    await store.delete(['AuthorizationPolicy/default/refuse-me']);
    await store.apply(policy('better'));
    await until('the next good snapshot is ACKed', () => cp.subscribers()[0]?.state === 'ACK' && agent.snapshot!.resources.some((r) => r.includes('"better"')));
    assert.equal(cp.subscribers()[0]!.nackReason, undefined);
  } finally {
    await agent.stop();
    await cp.stop();
    cleanup();
  }
});
