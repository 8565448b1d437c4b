// The policies the reviews workload of the policy system tests runs under: a DENY on /admin and an
// ALLOW for productpage's identity (optionally GET only); RequestAuthentication with a policy that
// requires a token.
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

/**
 * A RequestAuthentication for reviews with one jwtRule (its YAML flow mapping, e.g.
 * `{ issuer: "https://i", jwks: '...' }`) and an ALLOW policy requiring a request principal of
 * `issuer`, plus the `when` conditions given (a YAML flow sequence).
 */
export function reviewsJwtPolicies(jwtRule: string, issuer: string, when?: string): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  jwtRules: [${jwtRule}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  rules: [{ from: [{ source: { requestPrincipals: ["${issuer}/*"] } }]${when === undefined ? '' : `, when: ${when}`} }]
`;
}
