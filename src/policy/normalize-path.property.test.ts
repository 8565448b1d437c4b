// Properties of the path normalizer (fast-check): idempotent in every mode, no `//` after
// MERGE_SLASHES, no dot segments after BASE, and never a crash on any input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hasDotSegment, normalizePath, type PathNormalization } from './normalize-path.js';

const MODES: readonly PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];
const piece = fc.constantFrom('/', '//', '.', '..', '%2e', '%2E', '%2F', '%2f', '%5C', '%5c', '\\', ';x=1', 'a', 'admin', 'B', '%41', '%25', '%252F', '%3B', '~', '-', '\u00e9', '?', '?q=/..', '%', '%0', '#');
const rawPath = fc.array(piece, { maxLength: 12 }).map((parts) => '/' + parts.join(''));
const anyText = fc.string({ unit: 'binary', maxLength: 40 });

test('normalizing a normalized path changes nothing, in every mode', () => {
  fc.assert(
    fc.property(rawPath, fc.constantFrom(...MODES), (raw, mode) => {
      const once = normalizePath(raw, mode, { fragment: 'strip' });
      if (!once.ok) return;
      const twice = normalizePath(once.target, mode);
      assert.ok(twice.ok);
      assert.equal(twice.path, once.path);
      assert.equal(twice.target, once.target);
    }),
    { numRuns: 3000 },
  );
});

test('MERGE_SLASHES and DECODE_AND_MERGE_SLASHES never leave "//" in the path', () => {
  fc.assert(
    fc.property(rawPath, fc.constantFrom<PathNormalization>('MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'), (raw, mode) => {
      const r = normalizePath(raw, mode, { fragment: 'strip' });
      if (r.ok) assert.ok(!r.path.includes('//'), r.path);
    }),
    { numRuns: 3000 },
  );
});

test('BASE and above never leave a dot segment, nor an encoded one', () => {
  fc.assert(
    fc.property(rawPath, fc.constantFrom<PathNormalization>('BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'), (raw, mode) => {
      const r = normalizePath(raw, mode, { fragment: 'strip' });
      if (!r.ok) return;
      assert.ok(!hasDotSegment(r.path), r.path);
      assert.ok(!/%2e/i.test(r.path), r.path);
      assert.ok(!r.path.includes('\\'), r.path);
      assert.ok(r.path.startsWith('/'));
    }),
    { numRuns: 3000 },
  );
});

test('any input either normalizes to a path starting with "/" or is refused with 400, never throws', () => {
  fc.assert(
    fc.property(fc.oneof(anyText, anyText.map((s) => '/' + s)), fc.constantFrom(...MODES), (raw, mode) => {
      const r = normalizePath(raw, mode);
      if (r.ok) {
        assert.ok(r.path.startsWith('/'));
        assert.ok(!r.path.includes('?') && !r.path.includes('#'));
      } else assert.equal(r.status, 400);
    }),
    { numRuns: 3000 },
  );
});
