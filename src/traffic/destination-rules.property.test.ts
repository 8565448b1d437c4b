// Properties of the rule lookup (fast-check, seeded) over rules drawn from a small vocabulary of
// namespaces, hosts, exportTo and selectors, so that they collide often: the answer never throws,
// comes from one namespace's rules that the caller can see, all for the same host and oldest
// first; a matching rule in the caller's namespace always wins; the answer does not depend on the
// order of the snapshot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DestinationRuleSpec } from '../config/generated/types.js';
import { canonicalHost, compileClusters, visibleTo } from './destination-rules.js';
import { CALLER, dr, MESH, service } from './testing/cluster-fixtures.js';

const NAMESPACES = ['web', 'shop', 'istio-system', 'other'];
const HOSTS = ['reviews', 'reviews.shop.svc.cluster.local', '*.shop.svc.cluster.local', '*', 'ratings', 'reviews.shop'];
const EXPORTS = [undefined, ['.'], ['*'], ['~'], ['web'], ['other']];
const SELECTORS = [undefined, { app: 'frontend' }, { app: 'other' }];
const SERVICES = [service('reviews', 'shop'), service('ratings', 'shop'), service('reviews', 'other'), service('frontend', 'web')];
const QUERIES = ['reviews.shop', 'ratings.shop', 'reviews.other', 'frontend.web', 'example.com'];

const ruleArb = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  host: fc.constantFrom(...HOSTS),
  exportTo: fc.constantFrom(...EXPORTS),
  selector: fc.constantFrom(...SELECTORS),
  subsets: fc.uniqueArray(fc.constantFrom('v1', 'v2', 'v3'), { maxLength: 2 }),
  lb: fc.constantFrom(undefined, 'RANDOM', 'ROUND_ROBIN'),
  age: fc.integer({ min: 0, max: 1000 }),
});

type RuleInput = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;

function build(rules: readonly RuleInput[]) {
  return rules.map((r, i) => {
    const spec: DestinationRuleSpec = {
      host: r.host,
      ...(r.exportTo === undefined ? {} : { exportTo: r.exportTo }),
      ...(r.selector === undefined ? {} : { workloadSelector: { matchLabels: r.selector } }),
      ...(r.lb === undefined ? {} : { trafficPolicy: { loadBalancer: { simple: r.lb } } }),
      subsets: r.subsets.map((name) => ({ name, labels: { version: name } })),
    };
    return dr(r.ns, `r${i}`, spec, { creationTimestamp: new Date(Date.UTC(2026, 0, 1) + r.age * 1000).toISOString() });
  });
}

const NS_SET = new Set(SERVICES.map((s) => s.namespace));

test('property: the rule in force is visible, from one namespace, for one host, merged oldest first; the caller\'s namespace wins', () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.constantFrom(...NAMESPACES), (inputs, callerNs) => {
      const caller = { ...CALLER, namespace: callerNs };
      const resources = build(inputs);
      const table = compileClusters({ mesh: MESH, caller, resources, services: SERVICES });
      const byId = new Map(resources.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]));
      for (const q of QUERIES) {
        const rule = table.ruleFor(q);
        for (const subset of [undefined, 'v1', 'v9']) table.policyFor(q, subset, 80);
        const canonicalQuery = canonicalHost(q, callerNs, NS_SET, 'svc.cluster.local');
        const ownMatch = resources.some((r) => r.metadata.namespace === callerNs
          && visibleTo(callerNs, r.spec.exportTo, callerNs)
          && r.spec.workloadSelector === undefined
          && canonicalHost(r.spec.host, callerNs, NS_SET, 'svc.cluster.local') === canonicalQuery);
        if (ownMatch) assert.equal(rule?.namespace, callerNs, `${q}: a catch-all rule in ${callerNs} matches exactly`);
        if (rule === undefined) continue;
        const merged = rule.rules.map((id) => byId.get(id)!);
        const stamps = merged.map((r) => r.metadata.creationTimestamp);
        assert.deepEqual([...stamps].sort(), stamps, 'oldest first');
        for (const r of merged) {
          assert.equal(r.metadata.namespace, rule.namespace);
          assert.ok(visibleTo(r.metadata.namespace, r.spec.exportTo, callerNs));
          assert.equal(canonicalHost(r.spec.host, r.metadata.namespace, NS_SET, 'svc.cluster.local'), rule.host);
          if (r.spec.workloadSelector !== undefined) {
            assert.equal(r.metadata.namespace, callerNs, 'a selecting rule applies only in its own namespace');
            assert.equal(r.spec.workloadSelector.matchLabels?.app, 'frontend');
          }
        }
        assert.equal(new Set(rule.subsets.map((s) => s.name)).size, rule.subsets.length, 'no subset twice');
      }
    }),
    { seed: 20261207, numRuns: 400 },
  );
});

test('property: the answer does not depend on the order of the snapshot', () => {
  fc.assert(
    fc.property(fc.uniqueArray(ruleArb, { maxLength: 10, selector: (r) => r.age }), fc.constantFrom(...NAMESPACES), (inputs, callerNs) => {
      const resources = build(inputs);
      const caller = { ...CALLER, namespace: callerNs };
      const a = compileClusters({ mesh: MESH, caller, resources, services: SERVICES });
      const b = compileClusters({ mesh: MESH, caller, resources: [...resources].reverse(), services: SERVICES });
      for (const q of QUERIES) {
        assert.deepEqual(a.ruleFor(q)?.rules, b.ruleFor(q)?.rules);
        assert.deepEqual(a.policyFor(q, 'v1', 80), b.policyFor(q, 'v1', 80));
      }
    }),
    { seed: 20261207, numRuns: 200 },
  );
});
