// VirtualService and DestinationRule applied by real sidecars: `weft apply` to the control plane,
// the snapshot to the sidecars, and the client sidecar routing by it (subsets, faults).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWeft, tempDir } from '../helpers/cli.js';
import { getViaProxy, startControlPlane, startWorkload, stop, type Mesh, type Workload } from '../helpers/mesh.js';
import { REVIEWS_SUBSETS } from '../proxy/traffic-rig.js';

const SUBSETS = REVIEWS_SUBSETS;

const routeTo = (subset: string, extra = ''): string => `${SUBSETS}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
${extra}  - route: [{ destination: { host: reviews, subset: ${subset} } }]
`;

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('traffic management in the sidecars', () => {
  let dir: { dir: string; cleanup: () => void };
  let mesh: Mesh;
  let client: Workload;
  const apply = async (yaml: string): Promise<void> => {
    const r = await runWeft(['apply', '-f', '-', '--config', join(mesh.dataDir, 'admin.conf')], { input: yaml });
    assert.equal(r.code, 0, r.stderr);
  };
  const version = async (): Promise<string> => {
    const r = await getViaProxy(client.outboundPort, 'reviews.default:9080');
    return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
  };

  before(async () => {
    dir = tempDir();
    mesh = await startControlPlane(join(dir.dir, 'cp'));
    await startWorkload(mesh, { service: 'reviews', version: 'v1' });
    await startWorkload(mesh, { service: 'reviews', version: 'v2' });
    client = await startWorkload(mesh, { service: 'productpage' });
  });
  after(async () => {
    await stop(mesh.procs);
    dir.cleanup();
  });

  test('a VirtualService route to a subset takes every request there once the snapshot arrives', async () => {
    await apply(routeTo('v2'));
    await until('requests go to v2', async () => (await version()) === 'v2');
    for (let i = 0; i < 20; i++) assert.equal(await version(), 'v2');
    await apply(routeTo('v1'));
    await until('requests go to v1', async () => (await version()) === 'v1');
    for (let i = 0; i < 20; i++) assert.equal(await version(), 'v1');
  });

  test('a fault abort is answered by the client sidecar itself', async () => {
    await apply(routeTo('v1', '  - match: [{ uri: { prefix: /broken } }]\n    fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }\n    route: [{ destination: { host: reviews } }]\n'));
    await until('the abort is in force', async () => (await getViaProxy(client.outboundPort, 'reviews.default:9080', '/broken')).status === 418);
    assert.equal((await getViaProxy(client.outboundPort, 'reviews.default:9080', '/broken')).body, 'weft: fault filter abort\n');
    assert.equal(await version(), 'v1');
  });
});
