// The policies the reviews workload of the policy system tests runs under: a DENY on /admin and an
// ALLOW for productpage's identity (optionally GET only).
export function reviewsPolicies(opts: { getOnly?: boolean } = {}): string {
  const to = opts.getOnly ? '\n    to: [{ operation: { methods: ["GET"] } }]' : '';
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: from-productpage, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/productpage"] } }]${to}
`;
}
