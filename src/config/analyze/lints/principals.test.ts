import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, policy, run } from '../testing.js';
import { contradiction, principalShapeProblem } from './principals.js';

const from = (source: string) => policy('p', 'bookinfo', `rules:\n- from:\n  - source:\n${source.trim().split('\n').map((l) => `      ${l}`).join('\n')}`);
const meshConfig = 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  trustDomain: example.org\n  trustDomainAliases: [old.example.org]\n';

describe('WA005: a principal outside the trust domain', () => {
  test('fail/a principal, a notPrincipal and a source.principal condition of another trust domain', () => {
    const f = only(run(docs(meshConfig, policy('p', 'bookinfo', 'rules:\n- from:\n  - source:\n      principals: ["other.org/ns/bookinfo/sa/web", "example.org/ns/bookinfo/sa/web"]\n      notPrincipals: ["partner.io/ns/a/sa/b"]\n  when:\n  - key: source.principal\n    values: ["typo.example.org/ns/a/*"]'))), 'WA005');
    assert.deepEqual(f.map((x) => x.path), ['spec.rules[0].from[0].source.notPrincipals[0]', 'spec.rules[0].from[0].source.principals[0]', 'spec.rules[0].when[0].values[0]']);
    assert.match(f[1]!.message, /trust domain other\.org, which is neither this mesh's nor an alias \(example\.org, old\.example\.org\)/);
  });

  test('fail/a trust-domain prefix no trust domain of the mesh starts with; a trustDomains value', () => {
    const f = only(run(docs(meshConfig, from('principals: ["corp*"]\n'), policy('t', 'bookinfo', 'rules:\n- from:\n  - source:\n      trustDomains: ["other.org"]'))), 'WA005');
    assert.equal(f.length, 2);
  });

  test('ok/the mesh trust domain, an alias, the literal cluster.local, and wildcards that leave it open', () => {
    const f = run(docs(meshConfig, from('principals: ["example.org/ns/a/sa/b", "old.example.org/ns/a/sa/b", "cluster.local/ns/a/sa/b", "*", "*/ns/a/sa/b", "exam*", "example.org/*"]\ntrustDomains: ["old.example.org", "*.org"]')));
    assert.deepEqual(only(f, 'WA005'), []);
  });
});

describe('WA015: a principal no workload identity can have', () => {
  test('fail/a namespace with capitals or an underscore', () => {
    const f = only(run(from('principals: ["cluster.local/ns/Bookinfo/sa/web", "cluster.local/ns/book_info/sa/web"]')), 'WA015');
    assert.equal(f.length, 2);
    assert.match(f[0]!.message, /namespace "Bookinfo" is not a namespace name/);
  });

  test('fail/a suffix that ends at the namespace, not the service account', () => {
    const f = only(run(from('notPrincipals: ["*/ns/bookinfo"]')), 'WA015');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /"ns" where an identity has "sa"/);
  });

  test('ok/well-formed principals and open patterns', () => {
    const f = run(from('principals: ["cluster.local/ns/bookinfo/sa/web", "*/sa/web", "*-prod", "cluster.local/ns/book*", "cluster.local/ns/*", "*ookinfo/sa/web", "*"]'));
    assert.deepEqual(only(f, 'WA015'), []);
  });

  const shapes: [string, string | undefined][] = [
    ['td/ns/a/sa/b', undefined],
    ['td/nss/a/sa/b', 'it has "nss" where an identity has "ns"'],
    ['td/ns/a-/sa/b', 'its namespace "a-" is not a namespace name (lowercase letters, digits and "-": a DNS-1123 label)'],
    ['td/ns/a-*', undefined],
    ['*-a/sa/b', undefined],
    ['*a/b/c/d/e/f', 'it has more "/"-separated segments than an identity has'],
    ['td/n*', undefined],
    ['*s/a/sa/b', undefined],
  ];
  for (const [value, want] of shapes) test(`principalShapeProblem(${JSON.stringify(value)})`, () => assert.equal(principalShapeProblem(value), want));
});

describe('WA014: a source that can never match', () => {
  test('fail/principals of one namespace with namespaces naming another', () => {
    const f = only(run(from('principals: ["cluster.local/ns/bookinfo/sa/productpage"]\nnamespaces: ["frontend"]')), 'WA014');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.path, 'spec.rules[0].from[0].source');
    assert.match(f[0]!.message, /namespace \(bookinfo\)/);
  });

  test('fail/principals all excluded by notNamespaces, notPrincipals, or namespaces by notNamespaces', () => {
    assert.match(contradiction({ principals: ['td/ns/a/sa/x'], notNamespaces: ['a*'] })!, /notNamespaces/);
    assert.match(contradiction({ principals: ['td/ns/a/sa/x'], notPrincipals: ['*'] })!, /notPrincipals/);
    assert.match(contradiction({ namespaces: ['a', 'b'], notNamespaces: ['a', 'b'] })!, /notNamespaces/);
  });

  test('ok/a principal in an allowed namespace, wildcard principals, a partial exclusion', () => {
    assert.equal(contradiction({ principals: ['td/ns/a/sa/x', 'td/ns/b/sa/y'], namespaces: ['b'] }), undefined);
    assert.equal(contradiction({ principals: ['*/sa/x'], namespaces: ['b'] }), undefined);
    assert.equal(contradiction({ principals: ['td/ns/a/sa/x'], namespaces: ['*'] }), undefined);
    assert.equal(contradiction({ namespaces: ['a', 'b'], notNamespaces: ['a'] }), undefined);
    assert.deepEqual(only(run(from('principals: ["cluster.local/ns/bookinfo/sa/productpage"]\nnamespaces: ["book*"]')), 'WA014'), []);
  });
});
