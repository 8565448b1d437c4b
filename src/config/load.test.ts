import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDocuments } from './load.js';

test('ok/locates values and keys, following aliases, in YAML and in JSON with tabs', () => {
  const yaml = loadDocuments('a: &x\n  b: [1, 2]\nc: *x\n---\nd:\n  e: 1\n', 'f.yaml');
  assert.deepEqual(yaml.issues, []);
  const [first, second] = yaml.documents;
  assert.deepEqual(first!.locate(['a', 'b', 1]), { line: 2, column: 10 });
  assert.deepEqual(first!.locate(['c', 'b', 0]), { line: 2, column: 7 }, 'through the alias to its anchor');
  assert.deepEqual(first!.locate(['c'], 'key'), { line: 3, column: 1 });
  assert.deepEqual(second!.locate(['d', 'e'], 'key'), { line: 6, column: 3 });
  assert.deepEqual(second!.start, { line: 5, column: 1 });
  const json = loadDocuments('{\n\t"a": {\n\t\t"b": [true]\n\t}\n}\n', 'f.json');
  assert.deepEqual(json.documents[0]!.locate(['a', 'b', 0]), { line: 3, column: 9 });
});

test('ok/a path that ends early points at its deepest existing node', () => {
  const [doc] = loadDocuments('a:\n  b: 1\n', 'f.yaml').documents;
  assert.deepEqual(doc!.locate(['a', 'missing', 'deeper']), { line: 2, column: 3 });
  assert.deepEqual(doc!.locate(['a', 'b', 'x']), { line: 2, column: 6 });
});

test('fail/syntax errors of every document are reported, and those documents skipped', () => {
  const loaded = loadDocuments('a: [\n---\nb: 1\n---\nc: "x\n', 'f.yaml');
  assert.deepEqual(loaded.documents.map((d) => d.data), [{ b: 1 }]);
  assert.deepEqual(
    loaded.issues.map((i) => `${i.line}:${i.column} ${i.code}`),
    ['2:1 WEFT_CONFIG_SYNTAX', '6:1 WEFT_CONFIG_SYNTAX'],
  );
});

test('fail/unknown tags and non-scalar keys are refused rather than guessed at', () => {
  const loaded = loadDocuments('a: !custom x\n---\n[a]: 1\n', 'f.yaml');
  assert.deepEqual(
    loaded.issues.map((i) => `${i.line}:${i.column} ${i.message}`),
    ['1:4 unresolved tag: !custom', '3:1 a map key must be a string or number (not null, a mapping, a list or an alias)'],
  );
});
