// A realistic AuthorizationPolicy snapshot for the authz benchmark: ALLOW policies with
// principals (exact and `*/ns/x/sa/y`), namespaces, methods, paths with templates, headers,
// ipBlocks and `when` conditions on JWT claims; DENY policies on admin paths and address ranges;
// a few AUDIT policies. Deterministic (policy i is always the same) so runs compare.
import type { StoredResource } from '../../src/config/stored.js';
import type { AuthorizationPolicy, AuthorizationPolicySpec, Rule } from '../../src/config/generated/types.js';
import type { RequestAttributes } from '../../src/policy/attributes.js';

export const NAMESPACES = 10;
export const APPS = 10;
/** The workload under test: app svc-0 in ns-0. */
export const WORKLOAD = { namespace: 'ns-0', labels: { app: 'svc-0', version: 'v1' }, serviceAccount: 'svc-0' };

function policy(name: string, namespace: string, spec: AuthorizationPolicySpec): StoredResource<AuthorizationPolicy> {
  return Object.freeze({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 },
    spec,
  }) as StoredResource<AuthorizationPolicy>;
}

function allowRules(i: number): Rule[] {
  const ns = `ns-${(i * 7) % NAMESPACES}`;
  return [
    {
      from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/client-${i}`, `*/ns/${ns}/sa/batch-${i}`] } }],
      to: [{ operation: { methods: ['GET', 'HEAD'], paths: [`/api/v${i % 3}/items/{*}`, `/api/v${i % 3}/items/{*}/parts/{**}`] } }],
    },
    {
      from: [{ source: { namespaces: [`team-${i}`], ipBlocks: ['10.0.0.0/8', '192.168.0.0/16'] } }],
      to: [{ operation: { methods: ['POST'], paths: [`/orders/${i}/*`] } }],
      when: [
        { key: 'request.headers[x-tenant]', values: [`tenant-${i}`] },
        { key: 'request.auth.claims[groups]', values: ['buyers', 'admins'] },
      ],
    },
  ];
}

/**
 * `count` policies. `selecting` = how many of them select the workload (the rest sit in other
 * namespaces or select other apps, as most of a mesh-wide snapshot does for any one sidecar).
 */
export function snapshot(count: number, selecting: number): StoredResource<AuthorizationPolicy>[] {
  const out: StoredResource<AuthorizationPolicy>[] = [];
  for (let i = 0; i < count; i++) {
    const selects = i < selecting;
    const namespace = selects ? 'ns-0' : `ns-${1 + (i % (NAMESPACES - 1))}`;
    const app = selects ? 'svc-0' : `svc-${1 + (i % (APPS - 1))}`;
    const kind = i % 20;
    let spec: AuthorizationPolicySpec;
    if (kind === 0) {
      spec = { selector: { matchLabels: { app } }, action: 'DENY', rules: [{ to: [{ operation: { paths: [`/admin/${i}`, `/internal/${i}/*`] } }] }, { from: [{ source: { ipBlocks: [`172.${16 + (i % 16)}.0.0/16`] } }] }] };
    } else if (kind === 1) {
      spec = { selector: { matchLabels: { app } }, action: 'DENY', rules: [{ from: [{ source: { notNamespaces: [`ns-${i % NAMESPACES}`, 'ns-0'] } }], to: [{ operation: { paths: [`/debug/${i}/*`] } }] }] };
    } else if (kind === 2) {
      spec = { selector: { matchLabels: { app } }, action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['DELETE'], paths: [`/orders/${i}/*`] } }] }] };
    } else {
      spec = { selector: { matchLabels: { app } }, action: 'ALLOW', rules: allowRules(i) };
    }
    out.push(policy(`p-${String(i).padStart(4, '0')}`, namespace, spec));
  }
  return out;
}

/** Requests to the workload: allowed by policies spread through the list, and denied ones. */
export function requests(count: number): RequestAttributes[] {
  const out: RequestAttributes[] = [];
  const allowIds: number[] = [];
  for (let i = 3; i < count; i++) if (i % 20 >= 3) allowIds.push(i);
  const pick = (k: number): number => allowIds[(k * 37) % Math.max(1, allowIds.length)] ?? 3;
  for (let k = 0; k < 64; k++) {
    const i = pick(k);
    const ns = `ns-${(i * 7) % NAMESPACES}`;
    const base = { protocol: 'http' as const, sourceIp: '10.1.2.3', destinationIp: '10.0.0.9', destinationPort: 8080, host: 'svc-0.ns-0:8080' };
    switch (k % 4) {
      case 0: // allowed: exact principal, template path
        out.push({ ...base, sourcePrincipal: `cluster.local/ns/${ns}/sa/client-${i}`, sourceNamespace: ns, method: 'GET', path: `/api/v${i % 3}/items/42` });
        break;
      case 1: // allowed: namespace + ipBlocks + header + claim
        out.push({
          ...base,
          sourcePrincipal: `cluster.local/ns/team-${i}/sa/app`,
          sourceNamespace: `team-${i}`,
          method: 'POST',
          path: `/orders/${i}/new`,
          headers: { 'x-tenant': `tenant-${i}`, accept: 'application/json' },
          jwt: { principal: 'https://idp.example.com/u1', claims: { iss: 'https://idp.example.com', sub: 'u1', groups: ['buyers'] } },
        });
        break;
      case 2: // denied: no rule matches (wrong method)
        out.push({ ...base, sourcePrincipal: `cluster.local/ns/${ns}/sa/client-${i}`, sourceNamespace: ns, method: 'DELETE', path: `/api/v${i % 3}/items/42` });
        break;
      default: // denied: plaintext
        out.push({ ...base, method: 'GET', path: '/api/v0/items/1' });
    }
  }
  return out;
}
