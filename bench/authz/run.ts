// The authorization benchmark (issue 5 §8): decisions per second and p50 per decision for
// snapshots of 10, 100 and 1,000 AuthorizationPolicies, compiled once for one workload, then
// evaluated over a fixed mix of 64 requests (half allowed by policies spread through the list,
// half denied). Two shapes per size: "selective" (about 1 % of the snapshot selects the workload,
// the usual case for one sidecar in a mesh-wide snapshot) and "all select" (every policy selects
// the workload: the worst case, every rule is a candidate).
//
//   npm run bench:authz        (= node --import tsx bench/authz/run.ts)
//   env: BATCH=1000 (decisions per timed batch) BATCHES=300
import { compilePolicies } from '../../src/policy/compile.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { defaultMeshConfigSpec } from '../../src/config/stored.js';
import { requests, snapshot, WORKLOAD } from './policies.js';

const BATCH = Number(process.env.BATCH ?? 1000);
const BATCHES = Number(process.env.BATCHES ?? 300);

interface Row {
  readonly policies: number;
  readonly shape: string;
  readonly selected: number;
  readonly compileMs: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly allowed: number;
}

function measure(policies: number, selecting: number, shape: string): Row {
  const mesh = defaultMeshConfigSpec();
  const resources = snapshot(policies, selecting);
  const t0 = process.hrtime.bigint();
  const compiled = compilePolicies({ mesh, workload: WORKLOAD, resources });
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const reqs = requests(selecting);
  let allowed = 0;
  for (const r of reqs) if (evaluate(compiled, r).allow) allowed++;
  let k = 0;
  for (let i = 0; i < BATCH * 20; i++) evaluate(compiled, reqs[k++ & 63]!); // warm-up: let the JIT settle
  const perBatch: number[] = [];
  let total = 0n;
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) evaluate(compiled, reqs[k++ & 63]!);
    const ns = process.hrtime.bigint() - start;
    total += ns;
    perBatch.push(Number(ns) / BATCH);
  }
  perBatch.sort((a, b) => a - b);
  const selected = compiled.allow.policies.length + compiled.deny.policies.length + compiled.audit.policies.length + compiled.custom.policies.length;
  return {
    policies,
    shape,
    selected,
    compileMs,
    perSecond: (BATCH * BATCHES) / (Number(total) / 1e9),
    p50: perBatch[Math.floor(perBatch.length / 2)]! / 1000,
    p99: perBatch[Math.floor(perBatch.length * 0.99)]! / 1000,
    allowed,
  };
}

const rows: Row[] = [];
for (const n of [10, 100, 1000]) {
  if (n >= 100) rows.push(measure(n, Math.max(10, Math.round(n / 100)), 'selective'));
  rows.push(measure(n, n, 'all select'));
}
console.log(`node ${process.version}, batch ${BATCH} decisions x ${BATCHES} batches, 64 requests (${rows[0]!.allowed}/64 allowed in the first row)`);
console.log('| policies in snapshot | shape | selecting the workload | compile ms | decisions/s | p50 µs/decision | p99 µs/decision | allowed of 64 |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.policies.toLocaleString('en')} | ${r.shape} | ${r.selected} | ${r.compileMs.toFixed(1)} | ${Math.round(r.perSecond).toLocaleString('en')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.allowed} |`);
}
