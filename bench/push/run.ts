// The configuration push benchmark (issue 4 §7): one real control plane process, 1,000 simulated
// sidecars in this process, each on its own gRPC channel with its own SVID (register, then the
// snapshot stream, ACKing every snapshot), 100 services, 1,000 AuthorizationPolicies applied
// through the admin API. Prints: the time for all sidecars to connect at once; for one policy
// change, the time from the apply request until every affected sidecar has ACKed (p50, p99, max);
// the control plane's RSS per connected sidecar.
//
//   npm run bench:push        (= node --import tsx bench/push/run.ts)
//   env: SIDECARS=1000 SERVICES=100 POLICIES=1000 ROUNDS=5
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { fetchPinnedRoot } from '../../src/agent/pin-root.js';
import { ControlPlaneClient } from '../../src/agent/control-plane-client.js';
import type { MeshSnapshot, SubscribeRequest } from '../../src/api/control-plane-api.js';
import { CertificateAuthority } from '../../src/ca/index.js';
import { AdminClient, loadAdminConfig } from '../../src/cli/admin/client.js';
import { freePort } from '../../src/cli/up/processes.js';
import { certificatesToPem } from '../../src/identity/index.js';

const SIDECARS = Number(process.env.SIDECARS ?? 1000);
const SERVICES = Number(process.env.SERVICES ?? 100);
const POLICIES = Number(process.env.POLICIES ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const NS = 'bench';
const WEFT_BIN = new URL('../../bin/weft.js', import.meta.url).pathname;

interface Sim {
  readonly service: number;
  readonly client: ControlPlaneClient;
  stream?: ClientDuplexStream<SubscribeRequest, MeshSnapshot>;
  /** Resolvers waiting for this sidecar's next ACK of a snapshot at least this version. */
  waiters: { minVersion: number; resolve: (at: number) => void }[];
  version: number;
  firstSnapshot: Promise<number>;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function policyYaml(i: number, methods: string): string {
  const svc = i % SERVICES;
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p${i}, namespace: ${NS} }
spec:
  selector: { matchLabels: { app: svc-${svc} } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/${NS}/sa/svc-${(svc + 1) % SERVICES}"] } }]
    to: [{ operation: { methods: [${methods}], paths: ["/api/v${i % 3}/*"] } }]
`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-push-'));
  const ca = CertificateAuthority.init(dir, { trustDomain: 'cluster.local' });
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const profile = process.env.CP_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CP_PROF}`] : [];
  const cp = spawn(process.execPath, [...profile, WEFT_BIN, 'control-plane', '--data-dir', dir, '--listen', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`, '--lease', '5m'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, WEFT_LOG_LEVEL: 'warn' },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      cp.stdout!.on('data', (d: Buffer) => d.toString().includes('control plane ready') && resolve());
      cp.once('exit', (code) => reject(new Error(`control plane exited ${code}`)));
    });
    const admin = new AdminClient(loadAdminConfig(join(dir, 'admin.conf')));
    const rootPem = certificatesToPem([await fetchPinnedRoot('127.0.0.1', grpcPort, ca.rootFingerprint)]);

    // 1,000 policies (10 per service) before any sidecar connects.
    const docs = Array.from({ length: POLICIES }, (_, i) => policyYaml(i, '"GET"'));
    await admin.call('POST', '/v1/apply', { sources: [{ file: 'policies.yaml', text: docs.join('---\n') }], dryRun: false });
    const rssIdle = rssKb(cp.pid!);
    const heapIdle = (await admin.call<{ memory: { heapUsed: number } }>('GET', '/v1/status')).memory.heapUsed;

    // Identities are minted up front; only connecting is timed.
    const sims: Sim[] = [];
    for (let i = 0; i < SIDECARS; i++) {
      const service = i % SERVICES;
      const svid = ca.mint(`spiffe://cluster.local/ns/${NS}/sa/svc-${service}`, { ttlMs: 3_600_000 });
      const client = new ControlPlaneClient(`127.0.0.1:${grpcPort}`, 'cluster.local', { rootPem, keyPem: svid.keyPem, certChainPem: [svid.leafPem, ...svid.chainPem].join('') });
      let first!: (at: number) => void;
      sims.push({ service, client, waiters: [], version: 0, firstSnapshot: new Promise((r) => (first = r)) });
      const sim = sims[i]!;
      sim.waiters.push({ minVersion: 0, resolve: first });
    }

    const t0 = performance.now();
    await Promise.all(
      sims.map(async (sim, i) => {
        const reg = await sim.client.register({
          namespace: NS,
          services: [`svc-${sim.service}`],
          ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }],
          labels: { app: `svc-${sim.service}`, version: `v${i % 2}` },
          address: '127.0.0.1',
          inboundPort: 20_000 + i,
        });
        const stream = sim.client.subscribe();
        sim.stream = stream;
        stream.on('data', (s: MeshSnapshot) => {
          JSON.parse(`[${s.resources.join(',')}]`);
          stream.write({ workloadId: reg.workloadId, version: s.version, nonce: s.nonce, error: '' });
          sim.version = s.version;
          const at = performance.now();
          sim.waiters = sim.waiters.filter((w) => (s.version >= w.minVersion ? (w.resolve(at), false) : true));
        });
        stream.on('error', () => undefined);
        stream.write({ workloadId: reg.workloadId, version: 0, nonce: '', error: '' });
      }),
    );
    const registeredMs = performance.now() - t0;
    await Promise.all(sims.map((s) => s.firstSnapshot));
    const connectMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 2_000));
    const rssConnected = rssKb(cp.pid!);
    const heapConnected = (await admin.call<{ memory: { heapUsed: number } }>('GET', '/v1/status')).memory.heapUsed;

    const report = (label: string, latencies: number[]) => {
      latencies.sort((a, b) => a - b);
      console.log(`${label.padEnd(58)} n=${String(latencies.length).padStart(5)}  p50 ${percentile(latencies, 50).toFixed(0).padStart(5)} ms  p99 ${percentile(latencies, 99).toFixed(0).padStart(5)} ms  max ${latencies[latencies.length - 1]!.toFixed(0).padStart(5)} ms`);
    };
    const change = async (label: string, yaml: string, affected: Sim[]) => {
      const all: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const status = await admin.call<{ snapshotVersion: number }>('GET', '/v1/status');
        const waits = affected.map((s) => new Promise<number>((resolve) => s.waiters.push({ minVersion: status.snapshotVersion + 1, resolve })));
        const start = performance.now();
        await admin.call('POST', '/v1/apply', { sources: [{ file: 'change.yaml', text: yaml.replace('ROUND', String(round)) }], dryRun: false });
        all.push(...(await Promise.all(waits)).map((at) => at - start));
      }
      report(label, all);
    };

    console.log(`weft push benchmark: ${SIDECARS} sidecars, ${SERVICES} services, ${POLICIES} policies, ${ROUNDS} rounds per change`);
    console.log(`all ${SIDECARS} sidecars connect at once, until each holds its first snapshot: ${(connectMs / 1000).toFixed(2)} s (all registered and subscribed after ${(registeredMs / 1000).toFixed(2)} s)`);
    const svc7 = sims.filter((s) => s.service === 7 % SERVICES);
    await change('one workload policy changed (its service\'s sidecars)', policyYaml(7 % SERVICES, '"GET", "ROUND"').replace('"ROUND"', '"R-ROUND"'), svc7);
    const nsWide = `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ns-deny, namespace: ${NS} }\nspec:\n  action: DENY\n  rules: [{ to: [{ operation: { paths: ["/admin/ROUND"] } }] }]\n`;
    await change(`one namespace-wide policy changed (all ${SIDECARS} sidecars)`, nsWide, sims);
    console.log(`control-plane RSS: ${(rssIdle / 1024).toFixed(1)} MB with ${POLICIES} policies and no sidecar; ${(rssConnected / 1024).toFixed(1)} MB with ${SIDECARS} connected`);
    console.log(`control-plane RSS per connected sidecar: ${((rssConnected - rssIdle) / SIDECARS).toFixed(1)} KB; V8 heap in use per connected sidecar: ${((heapConnected - heapIdle) / 1024 / SIDECARS).toFixed(1)} KB`);
    for (const s of sims) {
      s.stream?.cancel();
      s.client.close();
    }
  } finally {
    cp.kill('SIGTERM');
    await new Promise((r) => cp.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
