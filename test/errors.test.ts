// Keeps docs/errors.md and the code in step: every exported error code is documented, every
// documented code exists, and every code the sources raise belongs to an exported code list.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as weft from '../src/index.js';

function exportedCodes(): Set<string> {
  const codes = new Set<string>();
  for (const [name, value] of Object.entries(weft)) {
    if (name.endsWith('_ERROR_CODES')) for (const code of value as readonly string[]) codes.add(code);
  }
  return codes;
}

function documentedCodes(): Set<string> {
  const text = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  return new Set([...text.matchAll(/^### `(WEFT_[A-Z0-9_]+)`/gm)].map((m) => m[1]!));
}

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) yield path;
  }
}

test('every exported error code is documented in docs/errors.md', () => {
  const missing = [...exportedCodes()].filter((c) => !documentedCodes().has(c));
  assert.deepEqual(missing, []);
});

test('docs/errors.md documents no code that does not exist', () => {
  const codes = exportedCodes();
  const stale = [...documentedCodes()].filter((c) => !codes.has(c));
  assert.deepEqual(stale, []);
});

function environmentVariables(): Set<string> {
  const text = readFileSync(new URL('../docs/environment.md', import.meta.url), 'utf8');
  return new Set([...text.matchAll(/^\| `(WEFT_[A-Z0-9_]+)`/gm)].map((m) => m[1]!));
}

test('every code raised in src belongs to an exported code list', () => {
  const codes = exportedCodes();
  for (const name of environmentVariables()) codes.add(name);
  const unlisted: string[] = [];
  for (const file of sourceFiles(new URL('../src', import.meta.url).pathname)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/'(WEFT_[A-Z0-9_]+)'/g)) {
      if (!codes.has(m[1]!)) unlisted.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(unlisted, []);
});
