// Every code the config domain raises is in CONFIG_ERROR_CODES, and every listed code is raised.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_ERROR_CODES, ConfigValidationError } from './errors.js';
import { assertValid } from './issue.js';
import { parseResources } from './validate.js';

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) yield path;
  }
}

test('the code list and the codes src/config raises are the same set', () => {
  const raised = new Set<string>();
  for (const file of sources(new URL('.', import.meta.url).pathname)) {
    const text = readFileSync(file, 'utf8').replace(/export const CONFIG_ERROR_CODES = \[[^\]]*\]/, '');
    for (const m of text.matchAll(/'(WEFT_CONFIG_[A-Z0-9_]+)'/g)) raised.add(m[1]!);
  }
  const listed = new Set<string>(CONFIG_ERROR_CODES);
  assert.deepEqual([...raised].filter((c) => !listed.has(c)), [], 'raised but not listed');
  assert.deepEqual([...listed].filter((c) => !raised.has(c)), [], 'listed but never raised');
});

test('assertValid throws a ConfigValidationError carrying every issue', () => {
  const result = parseResources('kind: Nope\n---\nkind: Nada\n', 'x.yaml');
  assert.throws(
    () => assertValid(result),
    (err: unknown) =>
      err instanceof ConfigValidationError &&
      err.code === 'WEFT_CONFIG_INVALID' &&
      err.issues.length === 2 &&
      err.message === 'invalid configuration: x.yaml:1:7: kind: unknown kind "Nope" (weft accepts PeerAuthentication, RequestAuthentication, AuthorizationPolicy, DestinationRule, VirtualService, Gateway, ServiceEntry, MeshConfig) (and 1 more)',
  );
});
