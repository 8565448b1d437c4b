#!/usr/bin/env node
// Runs every unit test (src/**/*.test.ts) and system test (test/**/*.test.ts) with node:test through
// tsx. Node 20's runner does not expand globs, so the files are listed here. Arguments narrow the
// run to files whose path contains one of them.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (path.endsWith('.test.ts')) yield path;
  }
}

const filters = process.argv.slice(2);
const files = [...walk('src'), ...walk('test')]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = String(Math.max(1, availableParallelism()));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, WEFT_TEST: '1' } },
);
process.exit(result.status ?? 1);
