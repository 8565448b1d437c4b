import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docs, only, policy, run } from '../testing.js';

const mesh = (mode: string) => `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec:\n  pathNormalization: {normalization: ${mode}}\n`;
const denyAdmin = policy('deny-admin', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      methods: ["GET"]\n  - operation:\n      paths: ["/api/admin"]');
const allowExcept = policy('allow-except', 'bookinfo', 'rules:\n- to:\n  - operation:\n      notPaths: ["/api/admin"]');

describe('WA016: path rule under NONE or BASE normalization', () => {
  const cases: [string, string, string, number][] = [
    ['fail/a DENY on paths under BASE', mesh('BASE'), denyAdmin, 1],
    ['fail/a DENY on paths under NONE', mesh('NONE'), denyAdmin, 1],
    ['fail/an ALLOW with notPaths under BASE', mesh('BASE'), allowExcept, 1],
    ['ok/the default (MERGE_SLASHES)', '', docs(denyAdmin, allowExcept), 0],
    ['ok/MERGE_SLASHES set explicitly', mesh('MERGE_SLASHES'), denyAdmin, 0],
    ['ok/DECODE_AND_MERGE_SLASHES', mesh('DECODE_AND_MERGE_SLASHES'), denyAdmin, 0],
    ['ok/rules without paths under BASE', mesh('BASE'), policy('m', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      methods: ["DELETE"]'), 0],
    ['ok/an AUDIT on paths under BASE (decides nothing)', mesh('BASE'), policy('a', 'bookinfo', 'action: AUDIT\nrules:\n- to:\n  - operation:\n      paths: ["/x"]'), 0],
    ['ok/a dry-run DENY on paths under BASE (enforces nothing)', mesh('BASE'), policy('d', 'bookinfo', 'action: DENY\nrules:\n- to:\n  - operation:\n      paths: ["/x"]', { 'istio.io/dry-run': 'true' }), 0],
  ];
  for (const [name, meshYaml, yaml, count] of cases) {
    test(name, () => assert.equal(only(run(meshYaml === '' ? yaml : docs(meshYaml, yaml), { workloads: 'offline' }), 'WA016').length, count));
  }

  test('fail/the finding names the mode, the bypass and the fix, at the first path field', () => {
    const [f] = only(run(docs(mesh('BASE'), denyAdmin)), 'WA016');
    assert.equal(f!.resource, 'AuthorizationPolicy/bookinfo/deny-admin');
    assert.equal(f!.path, 'spec.rules[0].to[1].operation.paths');
    assert.equal(f!.severity, 'warning');
    assert.match(f!.message, /^DENY rule on paths under MeshConfig pathNormalization BASE: `\/api\/\/admin` is not `\/api\/admin`/);
    assert.match(f!.message, /Set it to MERGE_SLASHES \(weft's default\)/);
  });
});
