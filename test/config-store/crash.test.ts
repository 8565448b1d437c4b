// kill -9 in the middle of directory-store writes: after every kill the store reopens consistent,
// every file parses, and each 20-resource batch was applied entirely or not at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DirectoryConfigStore, parseResources } from '../../src/config/index.js';
import { tempDir } from '../helpers/cli.js';

const WRITER = fileURLToPath(new URL('./writer.ts', import.meta.url));
const KILLS = 12;

function pathOf(r: unknown): string {
  return (r as { spec: { rules: { to: { operation: { paths: string[] } }[] }[] } }).spec.rules[0]!.to[0]!.operation.paths[0]!;
}

test(`a directory store survives ${KILLS} SIGKILLs mid-write with every batch all or nothing`, async () => {
  const { dir, cleanup } = tempDir();
  try {
    let next = 0;
    let lastRevision = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(next)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited ${code}: ${stderr}`)));
      });
      // Until one batch has landed, wait for the writer to commit one (a loaded machine may be slow
      // to); then let it write for a random while, and kill it without warning.
      for (let waited = 0; next === 0 && !stdout.includes('committed') && waited < 30_000; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 400)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      const store = await DirectoryConfigStore.open(dir, { rescanMs: 60_000 });
      try {
        const items = await store.list({ namespace: 'crash' });
        if (items.length > 0) {
          assert.equal(items.length, 20, 'a batch creates all 20 or none');
          const paths = new Set(items.map(pathOf));
          assert.equal(paths.size, 1, `one batch in force, found ${[...paths].join(', ')}`);
          next = Number([...paths][0]!.split('/')[2]) + 1;
        }
        const revision = await store.revision();
        assert.ok(revision >= lastRevision, 'the revision never goes back');
        lastRevision = revision;
        for (const r of items) {
          const file = join(dir, 'resources', 'AuthorizationPolicy', 'crash', `${r.metadata.name}.yaml`);
          const parsed = parseResources(readFileSync(file, 'utf8'), file);
          assert.ok(parsed.ok, `${file} parses`);
          assert.equal(pathOf(parsed.value[0]), pathOf(r), 'the editable file agrees with the store');
        }
      } finally {
        await store.close();
      }
    }
    assert.ok(next > 0, 'the writer got some batches through');
  } finally {
    cleanup();
  }
});
