// Istio's documented examples (test/fixtures/config/valid, re-typed from the reference pages) parse
// unchanged and survive a round trip through toYaml; whole-input behaviour (multi-document, List,
// JSON) and the documented examples Kubernetes itself would refuse.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Resource } from './generated/types.js';
import { formatIssue } from './issue.js';
import { key } from './resources.js';
import { toYaml } from './serialize.js';
import { parseResources } from './validate.js';

const FIXTURES = new URL('../../test/fixtures/config/', import.meta.url);

/** Each `### <source>` chunk of a fixture file, with its title. */
function examples(file: string): { title: string; text: string }[] {
  const text = readFileSync(new URL(`valid/${file}`, FIXTURES), 'utf8');
  return text
    .split(/^(?=### )/m)
    .filter((chunk) => chunk.startsWith('### '))
    .map((chunk) => ({ title: chunk.slice(4, chunk.indexOf('\n')), text: chunk }));
}

function ok(text: string, file = 'test.yaml'): Resource[] {
  const result = parseResources(text, file);
  assert.ok(result.ok, result.ok ? '' : result.issues.map(formatIssue).join('\n'));
  return result.value;
}

function refused(text: string, file = 'test.yaml'): string[] {
  const result = parseResources(text, file);
  assert.equal(result.ok, false);
  return result.ok ? [] : result.issues.map(formatIssue);
}

const FILES = readdirSync(new URL('valid/', FIXTURES)).filter((f) => f.endsWith('.yaml'));

describe("Istio's documented examples", () => {
  test('every kind has examples', () => {
    const kinds = new Set(FILES.flatMap((f) => examples(f).flatMap((e) => ok(e.text).map((r) => r.kind))));
    assert.deepEqual([...kinds].sort(), [
      'AuthorizationPolicy',
      'DestinationRule',
      'Gateway',
      'MeshConfig',
      'PeerAuthentication',
      'RequestAuthentication',
      'ServiceEntry',
      'VirtualService',
    ]);
  });

  for (const file of FILES) {
    for (const example of examples(file)) {
      test(`ok/${file}: ${example.title}`, () => {
        const resources = ok(example.text, file);
        assert.ok(resources.length > 0);
        assert.deepEqual(ok(toYaml(resources)), resources, 'round trip through toYaml');
        for (const r of resources) assert.ok(Object.isFrozen(r) && Object.isFrozen(r.metadata) && Object.isFrozen(r.spec));
      });
    }
  }
});

describe('documented examples Kubernetes would refuse', () => {
  test('fail/the prefix_rewrite redirect example names a field the CRD does not have', () => {
    const text = readFileSync(new URL('invalid/virtual-service-snake-case.yaml', FIXTURES), 'utf8');
    assert.deepEqual(refused(text, 'vs.yaml'), [
      'vs.yaml:16:7: spec.http[0].redirect.prefix_rewrite: unknown field "prefix_rewrite"; did you mean "prefixRewrite"? (WEFT_CONFIG_UNKNOWN_FIELD)',
    ]);
  });

  test('fail/the delegation example uses upper-case namespaces', () => {
    const text = readFileSync(new URL('invalid/virtual-service-delegation.yaml', FIXTURES), 'utf8');
    const dns = 'use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS-1123 label) (WEFT_CONFIG_INVALID_NAMESPACE)';
    assert.deepEqual(refused(text, 'vs.yaml'), [
      `vs.yaml:18:19: spec.http[0].delegate.namespace: invalid namespace "nsA": ${dns}`,
      `vs.yaml:24:20: spec.http[1].delegate.namespace: invalid namespace "nsB": ${dns}`,
      `vs.yaml:30:14: metadata.namespace: invalid namespace "nsA": ${dns}`,
      `vs.yaml:47:14: metadata.namespace: invalid namespace "nsB": ${dns}`,
    ]);
  });
});

const PA = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n';

describe('whole inputs', () => {
  test('ok/documents are returned in order, with namespace "default" filled in', () => {
    const rs = ok(`${PA}metadata: {name: a, namespace: x}\n---\n${PA}metadata: {name: b}\nspec: {mtls: {mode: STRICT}}\n`);
    assert.deepEqual(rs.map(key), ['PeerAuthentication/x/a', 'PeerAuthentication/default/b']);
    assert.deepEqual(rs[0]!.spec, {}, 'an absent spec is empty');
  });

  test('ok/empty documents, comments and a trailing separator are skipped', () => {
    assert.deepEqual(ok('# nothing\n---\n---\n'), []);
    assert.equal(ok(`---\n${PA}metadata: {name: a}\n---\n# end\n`).length, 1);
  });

  test('fail/a multi-document input with bad documents is refused whole, with the issues of every bad document', () => {
    const text =
      `${PA}metadata: {name: good}\n---\n` +
      `${PA}metadata: {name: bad-1}\nspec: {mtls: {mode: strict}}\n---\n` +
      `${PA}metadata: {name: good-2}\n---\n` +
      `${PA}metadata: {name: Bad_2}\nspec: {mtls: {mod: STRICT}}\n`;
    assert.deepEqual(refused(text), [
      'test.yaml:8:21: spec.mtls.mode: must be one of UNSET, DISABLE, PERMISSIVE, STRICT; got "strict"; did you mean "STRICT"? (WEFT_CONFIG_BAD_ENUM)',
      'test.yaml:16:18: metadata.name: invalid name "Bad_2": use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit (a DNS-1123 subdomain) (WEFT_CONFIG_INVALID_NAME)',
      'test.yaml:17:15: spec.mtls.mod: unknown field "mod"; did you mean "mode"? (WEFT_CONFIG_UNKNOWN_FIELD)',
    ]);
  });

  test('ok/a JSON object, and a JSON List whose items are resources', () => {
    const one = ok('{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "a"}}', 'a.json');
    assert.equal(key(one[0]!), 'PeerAuthentication/default/a');
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'a', namespace: 'x' } },
        { apiVersion: 'networking.istio.io/v1alpha3', kind: 'DestinationRule', metadata: { name: 'b' }, spec: { host: 'b' } },
      ],
    };
    assert.deepEqual(ok(JSON.stringify(list, null, '\t'), 'list.json').map(key), ['PeerAuthentication/x/a', 'DestinationRule/default/b']);
  });

  test('fail/issues inside a List item have paths relative to the item and positions in the file', () => {
    const text = JSON.stringify(
      { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'a' }, spec: { mtls: 3 } }] },
      null,
      2,
    );
    assert.deepEqual(refused(text, 'list.json'), ['list.json:12:17: spec.mtls: must be a mapping, got a number (WEFT_CONFIG_WRONG_TYPE)']);
  });

  test('fail/a List needs apiVersion v1 and items', () => {
    assert.deepEqual(refused('kind: List\nitems: {}\nextra: 1\n'), [
      'test.yaml:1:1: apiVersion: a List must have apiVersion "v1", got null (WEFT_CONFIG_UNKNOWN_KIND)',
      'test.yaml:2:8: items: a List must have "items": a list of resources (WEFT_CONFIG_WRONG_TYPE)',
      'test.yaml:3:1: extra: unknown field "extra" in a List (WEFT_CONFIG_UNKNOWN_FIELD)',
    ]);
  });

  test('ok/metadata the server sets is accepted and dropped, so `get -o yaml` output applies again', () => {
    const [r] = ok(
      `${PA}metadata:\n  name: a\n  uid: 0b0c\n  resourceVersion: "42"\n  generation: 3\n  creationTimestamp: null\n  managedFields: [{manager: kubectl}]\n  finalizers: [example.com/keep]\n`,
    );
    assert.deepEqual(r!.metadata, { name: 'a', namespace: 'default', finalizers: ['example.com/keep'] });
  });

  test('ok/YAML anchors, aliases and merge keys resolve', () => {
    const text = `${PA}metadata: &m {name: a, labels: {app: x}}\nspec:\n  selector:\n    matchLabels:\n      <<: {app: x}\n      tier: web\n`;
    const [r] = ok(text);
    assert.deepEqual(r!.spec, { selector: { matchLabels: { app: 'x', tier: 'web' } } });
  });

  test('fail/an alias bomb is refused, not expanded', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const issues = refused(`${lines.join('\n')}\n`);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^test\.yaml:1:1: cannot read document: excessive alias count/);
  });
});
