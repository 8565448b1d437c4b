// The realistic policy set of the datapath benchmark's `weft-policy` path: ten resources of the
// kinds an operator writes for one service, with JWT on. Every request wrk sends carries a valid
// token and passes every check, so the run measures what enforcement costs, not what refusal saves.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const ISSUER = 'https://issuer.bench.weft.dev';
export const AUDIENCE = 'details';

/** An ES256 key, a token signed with it (valid for two hours) and the resources that check it. */
export async function policySet(clientPrincipal: string): Promise<{ token: string; resources: object[] }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' };
  const token = await new SignJWT({ groups: ['readers', 'bench'], scope: 'details:read' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench-1', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject('user-1')
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  const details = { matchLabels: { app: 'details' } };
  const policy = (name: string, namespace: string, spec: object): object => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace },
    spec,
  });
  const resources = [
    { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'STRICT' } } },
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'RequestAuthentication',
      metadata: { name: 'details-jwt', namespace: 'default' },
      spec: { selector: details, jwtRules: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks: JSON.stringify({ keys: [jwk] }), outputClaimToHeaders: [{ header: 'x-jwt-sub', claim: 'sub' }] }] },
    },
    policy('deny-untrusted-namespaces', 'istio-system', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['untrusted', 'sandbox'] } }] }] }),
    policy('deny-admin-paths', 'default', { selector: details, action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*', '/internal/{**}'] } }] }] }),
    policy('deny-private-ranges', 'default', { selector: details, action: 'DENY', rules: [{ from: [{ source: { remoteIpBlocks: ['10.0.0.0/8', '192.168.0.0/16'] } }] }] }),
    policy('audit-writes', 'default', { selector: details, action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['POST', 'PUT', 'DELETE'] } }] }] }),
    policy('details-readers', 'default', {
      selector: details,
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: [clientPrincipal], requestPrincipals: [`${ISSUER}/*`] } }],
          to: [{ operation: { methods: ['GET', 'HEAD'], paths: ['/', '/details/*', '/api/{*}/items'] } }],
          when: [{ key: 'request.auth.claims[groups]', values: ['readers'] }],
        },
      ],
    }),
    policy('details-health', 'default', { selector: details, action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['/healthz', '/ready'], methods: ['GET'] } }] }] }),
    policy('reviews-from-productpage', 'default', { selector: { matchLabels: { app: 'reviews' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: [clientPrincipal] } }] }] }),
    policy('ratings-namespace', 'ratings', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['default'] } }] }] }),
  ];
  return { token, resources };
}
