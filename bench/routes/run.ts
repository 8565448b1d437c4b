// The routing benchmark: compile time of a snapshot with 10, 100 and 1,000 VirtualServices (one
// per service, each with a header route, a regex route, a prefix rewrite and a weighted split),
// then routes per second and p50/p99 per decision over a fixed mix of 64 requests.
//
//   npm run bench:routes        (= node --import tsx bench/routes/run.ts)
//   env: BATCH=1000 (decisions per timed batch) BATCHES=200
import { defaultMeshConfigSpec, type StoredResource, type VirtualService } from '../../src/config/index.js';
import { compileRoutes } from '../../src/traffic/compile.js';
import type { RouteRequest } from '../../src/traffic/request.js';
import type { ServiceView } from '../../src/traffic/types.js';

const BATCH = Number(process.env.BATCH ?? 1000);
const BATCHES = Number(process.env.BATCHES ?? 200);

function snapshot(n: number): { services: ServiceView[]; resources: StoredResource[] } {
  const services: ServiceView[] = [];
  const resources: StoredResource[] = [];
  for (let i = 0; i < n; i++) {
    services.push({ name: `svc${i}`, namespace: 'shop', ports: [{ name: 'http', port: 8080, protocol: 'http' }], endpoints: [] });
    const vs: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: `svc${i}`, namespace: 'shop' },
      spec: {
        hosts: [`svc${i}`],
        http: [
          { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'true' } } }], route: [{ destination: { host: `svc${i}`, subset: 'v2' } }] },
          { name: 'items', match: [{ uri: { regex: '/items/[0-9]+' }, method: { exact: 'GET' } }], route: [{ destination: { host: `svc${i}`, subset: 'v1' } }] },
          { name: 'api', match: [{ uri: { prefix: '/api/v1' } }], rewrite: { uri: '/v1' }, route: [{ destination: { host: `svc${i}` } }] },
          { name: 'split', route: [{ destination: { host: `svc${i}`, subset: 'v1' }, weight: 90 }, { destination: { host: `svc${i}`, subset: 'v2' }, weight: 10 }] },
        ],
      },
    };
    resources.push({ ...vs, metadata: { ...vs.metadata, resourceVersion: String(i), creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 } } as StoredResource);
  }
  return { services, resources };
}

function requests(n: number): RouteRequest[] {
  const out: RouteRequest[] = [];
  const paths = ['/items/42', '/api/v1/users?x=1', '/static/app.js', '/items/abc'];
  for (let k = 0; k < 64; k++) {
    const headers: Record<string, string> = k % 8 === 0 ? { 'x-canary': 'true' } : {};
    out.push({ host: `svc${(k * 7) % n}.shop.svc.cluster.local`, port: 8080, method: 'GET', path: paths[k % 4]!, scheme: 'http', authority: `svc${k % n}:8080`, header: (h) => headers[h] });
  }
  return out;
}

const SIZES = (process.env.SIZES ?? "10,100,1000").split(",").map(Number);
for (const n of SIZES) {
  const { services, resources } = snapshot(n);
  const t0 = process.hrtime.bigint();
  const table = compileRoutes({ mesh: defaultMeshConfigSpec(), caller: { namespace: 'shop', labels: {}, locality: '' }, resources, services, clusterDomain: 'cluster.local' });
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const reqs = requests(n);
  const kinds = new Map<string, number>();
  for (const r of reqs) { const d = table.route(r); const key = d.kind === "forward" ? `forward ${d.routeName}` : d.kind; kinds.set(key, (kinds.get(key) ?? 0) + 1); }
  if (process.env.SHOW === "1") console.log(Object.fromEntries(kinds));
  let k = 0;
  for (let i = 0; i < BATCH * 20; i++) table.route(reqs[k++ & 63]!);
  const perBatch: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) table.route(reqs[k++ & 63]!);
    perBatch.push(Number(process.hrtime.bigint() - s) / BATCH);
  }
  perBatch.sort((a, b) => a - b);
  const p50 = perBatch[Math.floor(perBatch.length / 2)]!;
  const p99 = perBatch[Math.floor(perBatch.length * 0.99)]!;
  console.log(`${String(n).padStart(5)} VirtualServices: compile ${compileMs.toFixed(1)} ms, ${Math.round(1e9 / p50).toLocaleString('en')} routes/s, p50 ${(p50 / 1000).toFixed(2)} µs, p99 ${(p99 / 1000).toFixed(2)} µs`);
}
