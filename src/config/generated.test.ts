// The resource types are generated from the schemas (house style 8); this keeps them in step.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generateTypes } from './build/generate-types.js';
import { validatorFor } from './ajv.js';
import { KIND_DEFINITIONS } from './schemas/index.js';

test('src/config/generated/types.ts matches the schemas (run src/config/build/write-generated.ts)', () => {
  const committed = readFileSync(new URL('./generated/types.ts', import.meta.url), 'utf8').split('\n');
  const fresh = generateTypes(KIND_DEFINITIONS).split('\n');
  const line = fresh.findIndex((l, i) => l !== committed[i]);
  assert.equal(committed.length === fresh.length && line === -1 ? 'in sync' : `line ${line + 1}: ${JSON.stringify(committed[line])} should be ${JSON.stringify(fresh[line])}`, 'in sync');
});

test('every kind schema compiles in strict mode, so every $ref and keyword is known', () => {
  for (const def of KIND_DEFINITIONS) assert.equal(typeof validatorFor(def.schema), 'function', def.kind);
});

test('every object in every schema refuses unknown fields', () => {
  const open: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object') return;
    const s = node as Record<string, unknown>;
    if (s.properties !== undefined && s.additionalProperties !== false) open.push(at);
    for (const [k, v] of Object.entries(s)) walk(v, `${at}/${k}`);
  };
  for (const def of KIND_DEFINITIONS) walk(def.schema, def.kind);
  assert.deepEqual(open, []);
});
