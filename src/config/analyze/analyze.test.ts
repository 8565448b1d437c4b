import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { MeshConfig } from '../generated/types.js';
import { key } from '../resources.js';
import { defaultMeshConfigSpec, type StoredResource } from '../stored.js';
import { analyze, LINT_CODES, type AnalyzedWorkload, type Finding } from './index.js';
import { docs, only, policy, run, stored, WORKLOADS } from './testing.js';

describe('analyze', () => {
  test('offline: one WA000 says the registry lints were skipped, and they are', () => {
    const f = run(policy('ghost', 'bookinfo', 'selector:\n  matchLabels:\n    app: ghost\nrules:\n- {}'), { workloads: 'offline' });
    assert.deepEqual(only(f, 'WA000').map((x) => [x.resource, x.severity]), [['mesh', 'info']]);
    assert.deepEqual(f.filter((x) => ['WA001', 'WA003', 'WA006', 'WA011'].includes(x.code)), []);
  });

  test('online: no WA000; an empty configuration has no findings at all', () => {
    assert.deepEqual(run(''), []);
  });

  test('findings come errors first, then warnings, then infos, each group by resource and path', () => {
    const f = run(docs(
      policy('z-allow-nothing', 'bookinfo', '{}'),
      policy('b-ghost', 'bookinfo', 'selector:\n  matchLabels:\n    app: ghost\nrules:\n- {}'),
      policy('a-ghost', 'bookinfo', 'selector:\n  matchLabels:\n    app: ghost\nrules:\n- {}'),
    ));
    assert.deepEqual(f.map((x) => `${x.severity} ${x.code} ${x.resource}`), [
      'warning WA001 AuthorizationPolicy/bookinfo/a-ghost',
      'warning WA001 AuthorizationPolicy/bookinfo/b-ghost',
      'info WA008 AuthorizationPolicy/bookinfo/z-allow-nothing',
    ]);
  });

  test('every lint code has a section in docs/analyze.md with its severity, and the docs name no other code', () => {
    const text = readFileSync(new URL('../../../docs/analyze.md', import.meta.url), 'utf8');
    const documented = [...text.matchAll(/^### `(WA\d{3})`/gm)].map((m) => m[1]);
    assert.deepEqual(documented, LINT_CODES.map((c) => c.code));
    for (const c of LINT_CODES) {
      const section = text.split(`### \`${c.code}\``)[1]!.split('### ')[0]!;
      assert.match(section, new RegExp(`Severity: ${c.severity}`), `${c.code} severity`);
    }
  });
});

// A small vocabulary of resources, valid or not: invalid ones are dropped as an apply would refuse them.
const ns = fc.constantFrom('bookinfo', 'istio-system', 'shop');
const app = fc.option(fc.constantFrom('reviews', 'mysqldb', 'redis', 'ghost'), { nil: undefined });
const source = fc.constantFrom(
  'principals: ["cluster.local/ns/bookinfo/sa/bookinfo-reviews"]', 'principals: ["other.org/ns/a/sa/b"]', 'principals: ["*"]', 'notPrincipals: ["*"]',
  'namespaces: ["bookinfo"]', 'notNamespaces: ["shop"]', 'requestPrincipals: ["*"]', 'notRequestPrincipals: ["*"]', 'principals: ["cluster.local/ns/Shop/sa/x"]\n        namespaces: ["bookinfo"]',
);
const operation = fc.constantFrom('methods: ["GET"]', 'paths: ["/admin*"]', 'ports: ["3306"]', 'ports: ["9080"]\n        methods: ["POST"]', 'notPaths: ["/health"]', 'hosts: ["reviews"]');
const condition = fc.constantFrom('{key: "request.headers[x-user]", values: ["a"]}', '{key: source.ip, values: ["10.0.0.0/8"]}', '{key: "request.auth.claims[iss]", notValues: ["x"]}');
const rule = fc.record({ from: fc.option(source, { nil: undefined }), to: fc.option(operation, { nil: undefined }), when: fc.option(condition, { nil: undefined }) }).map(
  (r) => `- ${r.from === undefined && r.to === undefined && r.when === undefined ? '{}' : ''}${r.from === undefined ? '' : `from:\n    - source:\n        ${r.from}\n  `}${r.to === undefined ? '' : `to:\n    - operation:\n        ${r.to}\n  `}${r.when === undefined ? '' : `when: [${r.when}]`}`.trimEnd(),
);
const selector = (a: string | undefined) => (a === undefined ? '' : `  selector: {matchLabels: {app: ${a}}}\n`);
const authorizationPolicy = fc.record({ ns, app, action: fc.constantFrom('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'), rules: fc.option(fc.array(rule, { maxLength: 3 }), { nil: undefined }), dryRun: fc.boolean() }).map(
  (p) => (name: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: ${p.ns}${p.dryRun ? ', annotations: {"istio.io/dry-run": "true"}' : ''}}\nspec:\n${selector(p.app)}  action: ${p.action}\n${p.action === 'CUSTOM' ? '  provider: {name: ext}\n' : ''}${p.rules === undefined ? '' : p.rules.length === 0 ? '  rules: []\n' : `  rules:\n${p.rules.map((r) => r.replace(/^/gm, '  ')).join('\n')}\n`}`,
);
const peerAuthentication = fc.record({ ns, app, mode: fc.constantFrom('STRICT', 'PERMISSIVE', 'DISABLE', 'UNSET'), port: fc.option(fc.constantFrom('PERMISSIVE', 'DISABLE'), { nil: undefined }) }).map(
  (p) => (name: string) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: ${name}, namespace: ${p.ns}}\nspec:\n${selector(p.app)}  mtls: {mode: ${p.mode}}\n${p.port === undefined ? '' : `  portLevelMtls: {"3306": {mode: ${p.port}}}\n`}`,
);
const requestAuthentication = fc.record({ ns, app }).map((p) => (name: string) => `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: ${name}, namespace: ${p.ns}}\nspec:\n${selector(p.app)}  jwtRules: [{issuer: "https://idp.example.com"}]\n`);
const host = fc.constantFrom('reviews', 'reviews.bookinfo', 'ratings', 'api.example.com', 'mysqldb.bookinfo.svc.cluster.local');
const destinationRule = fc.record({ ns, host, version: fc.constantFrom('v1', 'v2', 'v9') }).map(
  (d) => (name: string) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${name}, namespace: ${d.ns}}\nspec:\n  host: ${d.host}\n  subsets: [{name: s, labels: {version: ${d.version}}}]\n`,
);
const virtualService = fc.record({ ns, host }).map((v) => (name: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${name}, namespace: ${v.ns}}\nspec:\n  hosts: [reviews]\n  http: [{route: [{destination: {host: ${v.host}}}], retries: {attempts: 2}}]\n`);
const serviceEntry = fc.constant((name: string) => `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ${name}, namespace: bookinfo}\nspec:\n  hosts: [api.example.com]\n  resolution: DNS\n  ports: [{number: 443, name: https, protocol: TLS}]\n`);
const meshConfig = fc.record({ mode: fc.constantFrom('STRICT', 'PERMISSIVE', 'DISABLE'), alias: fc.boolean() }).map(
  (m) => () => `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  mtls: {mode: ${m.mode}}\n${m.alias ? '  trustDomainAliases: [other.org]\n' : ''}`,
);
const resourceSet = fc.array(fc.oneof(authorizationPolicy, authorizationPolicy, peerAuthentication, requestAuthentication, destinationRule, virtualService, serviceEntry, meshConfig), { maxLength: 8 });
const registry = fc.option(fc.subarray([...WORKLOADS]), { nil: undefined });

function valid(makers: ((name: string) => string)[]): StoredResource[] {
  const out: StoredResource[] = [];
  let meshSeen = false;
  makers.forEach((make, i) => {
    const yaml = make(`r${i}`);
    if (yaml.includes('kind: MeshConfig') && meshSeen) return;
    try {
      const [r] = stored(yaml);
      out.push({ ...r!, metadata: { ...r!.metadata, creationTimestamp: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z` } } as StoredResource);
      meshSeen ||= r!.kind === 'MeshConfig';
    } catch {
      // refused by validation, as an apply would be
    }
  });
  return out;
}

function analyzeSet(resources: readonly StoredResource[], workloads: readonly AnalyzedWorkload[] | undefined): Finding[] {
  const mesh = resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig');
  return analyze({ resources, mesh: mesh?.spec ?? defaultMeshConfigSpec(), trustDomain: 'cluster.local', workloads });
}

describe('analyze: properties', () => {
  test('never throws; the same set in any order gives the same findings; every finding is well-formed', () => {
    let nonEmpty = 0;
    fc.assert(
      fc.property(resourceSet, registry, fc.integer(), (makers, workloads, seed) => {
        const resources = valid(makers);
        const findings = analyzeSet(resources, workloads);
        if (findings.length > 0) nonEmpty++;
        const shuffled = [...resources].sort((a, b) => ((key(a).length * 31 + seed) % 7) - ((key(b).length * 31 + seed) % 7)).reverse();
        assert.deepEqual(analyzeSet(shuffled, workloads), findings);
        const keys = new Set([...resources.map((r) => key(r)), 'mesh', 'MeshConfig/default']);
        for (const f of findings) {
          const code = LINT_CODES.find((c) => c.code === f.code);
          assert.ok(code !== undefined, `unknown code ${f.code}`);
          assert.equal(f.severity, code.severity);
          assert.ok(keys.has(f.resource), `resource ${f.resource}`);
          assert.ok(f.message.length > 0);
          if (workloads === undefined) assert.ok(!code.needsRegistry, `${f.code} offline`);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(nonEmpty > 100, 'the vocabulary exercises the lints');
  });
});
