// Properties: any text, any JSON and any mutation of a valid resource give a ValidationResult
// (never a throw, never an internal error), every issue is well formed, and whatever parses
// survives toYaml unchanged.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CONFIG_ERROR_CODES } from './errors.js';
import type { Resource } from './generated/types.js';
import type { ValidationResult } from './issue.js';
import { toYaml } from './serialize.js';
import { parseResources } from './validate.js';

const CODES = new Set<string>(CONFIG_ERROR_CODES);

function wellFormed(result: ValidationResult<Resource[]>, text: string): void {
  assert.equal(typeof result.ok, 'boolean');
  if (result.ok) return;
  assert.ok(result.issues.length > 0);
  const lines = text.split('\n').length;
  for (const issue of result.issues) {
    assert.ok(!issue.message.startsWith('internal error'), issue.message);
    assert.ok(CODES.has(issue.code), issue.code);
    assert.ok(Number.isInteger(issue.line) && issue.line >= 1 && issue.line <= lines + 1, `line ${issue.line}`);
    assert.ok(Number.isInteger(issue.column) && issue.column >= 1, `column ${issue.column}`);
    assert.equal(issue.file, 'p.yaml');
  }
}

function roundTrips(result: ValidationResult<Resource[]>): void {
  if (!result.ok) return;
  const again = parseResources(toYaml(result.value), 'again.yaml');
  assert.ok(again.ok, again.ok ? '' : JSON.stringify(again.issues));
  assert.deepEqual(again.value, result.value);
}

const FIXTURES = new URL('../../test/fixtures/config/valid/', import.meta.url);
const VALID: Resource[] = readdirSync(FIXTURES).flatMap((file) =>
  readFileSync(new URL(file, FIXTURES), 'utf8')
    .split(/^(?=### )/m)
    .flatMap((chunk) => {
      const r = parseResources(chunk, file);
      return r.ok ? r.value : [];
    }),
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Seg = string | number;

function allPaths(value: unknown, at: Seg[] = []): Seg[][] {
  const out: Seg[][] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...allPaths(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...allPaths(v, [...at, k]));
  return out;
}

type Op = { kind: 'replace'; value: unknown } | { kind: 'delete' } | { kind: 'add'; key: string; value: unknown };

function mutate(resource: Resource, pick: number, op: Op): unknown {
  const copy = structuredClone(resource) as unknown as Json;
  const paths = allPaths(copy);
  const path = paths[pick % paths.length]!;
  if (path.length === 0) return op.kind === 'replace' ? op.value : copy;
  let parent: unknown = copy;
  for (const s of path.slice(0, -1)) parent = (parent as Record<Seg, unknown>)[s];
  const last = path[path.length - 1]!;
  const p = parent as Record<Seg, unknown> & unknown[];
  if (op.kind === 'replace') p[last] = op.value;
  else if (op.kind === 'delete') {
    if (Array.isArray(p)) p.splice(Number(last), 1);
    else delete p[last];
  } else {
    const target = p[last];
    if (Array.isArray(target)) target.push(op.value);
    else if (target !== null && typeof target === 'object') (target as Record<string, unknown>)[op.key] = op.value;
    else p[last] = op.value;
  }
  return copy;
}

/** Values that probe the checks: near-misses of the formats Istio fields take. */
const tricky = fc.constantFrom(
  '*',
  '',
  ' ',
  '10.0.0.0/33',
  '::/0',
  '/{**}/x',
  '/{*}.txt',
  '(?=a)',
  '[',
  'cluster.local/ns/*/sa/x',
  'spiffe://x',
  'GET',
  'get',
  '65536',
  '8080',
  'STRICT',
  'DENY',
  'CUSTOM',
  'a/b',
  '1h',
  '-1s',
  'istio-system',
  'Foo',
  '__proto__',
  'constructor',
  0,
  -1,
  65536,
  1.5,
  true,
  null,
  [],
  {},
);

const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), tricky);

const op: fc.Arbitrary<Op> = fc.oneof(
  anyValue.map((value) => ({ kind: 'replace' as const, value })),
  fc.constant({ kind: 'delete' as const }),
  fc.record({ key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('principals', 'provider', 'targetRefs', 'jwks', 'status', '__proto__')), value: anyValue }).map(
    (r) => ({ kind: 'add' as const, ...r }),
  ),
);

const TOKENS = [
  'apiVersion: security.istio.io/v1\n',
  'apiVersion: networking.istio.io/v1\n',
  'kind: AuthorizationPolicy\n',
  'kind: VirtualService\n',
  'kind: List\n',
  'items:\n',
  'metadata:\n',
  '  name: a\n',
  'spec:\n',
  '  rules:\n',
  '  - ',
  '{',
  '}',
  '[',
  ']',
  ': ',
  ', ',
  '---\n',
  '...\n',
  '\n',
  '  ',
  '\t',
  '"',
  "'",
  '&a ',
  '*a',
  '<<: ',
  '!!str ',
  '!tag ',
  '%YAML 1.2\n',
  '# c\n',
  '? ',
  '|\n',
  '>-\n',
  'x',
  '8080',
  '\u0000',
  '\uFEFF',
];

describe('parseResources never throws', () => {
  test('on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const r = parseResources(text, 'p.yaml');
        wellFormed(r, text);
        roundTrips(r);
      }),
      { numRuns: 500 },
    );
  });

  test('on YAML-shaped text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }), (tokens) => {
        const text = tokens.join('');
        const r = parseResources(text, 'p.yaml');
        wellFormed(r, text);
        roundTrips(r);
      }),
      { numRuns: 1000 },
    );
  });

  test('on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const text = JSON.stringify(value) ?? 'null';
        wellFormed(parseResources(text, 'p.yaml'), text);
      }),
      { numRuns: 300 },
    );
  });

  test('on any mutation of a valid resource, and what still parses round-trips', () => {
    assert.ok(VALID.length > 50);
    fc.assert(
      fc.property(fc.constantFrom(...VALID), fc.nat(), fc.array(op, { minLength: 1, maxLength: 3 }), fc.boolean(), (resource, pick, ops, asJson) => {
        let data: unknown = resource;
        for (const o of ops) data = mutate(data as Resource, pick, o);
        const text = asJson ? (JSON.stringify(data, null, 2) ?? 'null') : stringify(data, { aliasDuplicateObjects: false });
        const r = parseResources(text, 'p.yaml');
        wellFormed(r, text);
        roundTrips(r);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('toYaml', () => {
  test('parse(toYaml(parse(x))) equals parse(x) for every documented example, together in one input', () => {
    // Names repeat across examples; number them so the whole set is one valid input. A mesh has
    // one MeshConfig, named default: keep the first.
    const firstMesh = VALID.findIndex((r) => r.kind === 'MeshConfig');
    const renamed = VALID.filter((r, i) => r.kind !== 'MeshConfig' || i === firstMesh).map((r, i) => ({
      ...r,
      metadata: { ...r.metadata, name: r.kind === 'MeshConfig' ? 'default' : `r${i}` },
    })) as Resource[];
    const first = parseResources(toYaml(renamed), 'all.yaml');
    assert.ok(first.ok);
    const second = parseResources(toYaml(first.value), 'all.yaml');
    assert.ok(second.ok);
    assert.deepEqual(second.value, first.value);
    assert.equal(toYaml(second.value), toYaml(first.value), 'canonical text is stable');
  });

  test('equal resources give equal text whatever their key order', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VALID), (resource) => {
        const reversed = JSON.parse(JSON.stringify(resource), function reviver(_k, v: unknown) {
          if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
          return Object.fromEntries(Object.entries(v).reverse());
        }) as Resource;
        assert.equal(toYaml([reversed]), toYaml([resource]));
      }),
    );
  });
});
