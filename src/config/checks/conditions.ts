// AuthorizationPolicy `when[].key` values (Istio's supported condition keys) and the check each
// key's values must pass.
import type { CheckName } from './index.js';

/** The check a condition's `values`/`notValues` must pass, per plain key. */
const PLAIN_KEYS: Readonly<Record<string, CheckName>> = {
  'source.ip': 'cidr',
  'remote.ip': 'cidr',
  'destination.ip': 'cidr',
  'destination.port': 'portString',
  'source.namespace': 'namespaceMatch',
  'source.principal': 'principal',
  'source.serviceAccount': 'serviceAccount',
  'source.trustDomain': 'trustDomainMatch',
  'request.auth.principal': 'requestPrincipal',
  'request.auth.audiences': 'stringMatch',
  'request.auth.presenter': 'stringMatch',
  'connection.sni': 'stringMatch',
};

/** Keys Istio refuses, with what to use instead. */
const REFUSED: ReadonlyArray<readonly [RegExp, string]> = [
  [/^destination\.labels(\[.*)?$/, 'is not supported: select workloads with spec.selector'],
  [/^destination\.namespace$/, 'is not supported: the policy applies in its metadata.namespace'],
  [/^destination\.name$/, 'is not supported'],
  [/^destination\.user$/, 'is not supported'],
];

const HEADER = /^request\.headers\[([^[\]]+)\]$/;
const CLAIMS = /^request\.auth\.claims(\[[^[\]]+\])+$/;
const ENVOY_FILTER = /^experimental\.envoy\.filters\.[A-Za-z0-9_.]+\[[^[\]]+\]$/;

/** The check for values of condition `key`, or why the key is not one Istio supports. */
export function conditionKey(key: string): { readonly check: CheckName } | { readonly problem: string } {
  const plain = PLAIN_KEYS[key];
  if (plain !== undefined) return { check: plain };
  if (HEADER.test(key)) return { check: 'stringMatch' };
  if (CLAIMS.test(key)) return { check: 'stringMatch' };
  if (ENVOY_FILTER.test(key)) return { check: 'nonEmpty' };
  for (const [re, why] of REFUSED) if (re.test(key)) return { problem: why };
  if (/^(request\.headers|request\.auth\.claims)(\[|$)/.test(key) || key.startsWith('experimental.envoy.filters.')) {
    return { problem: 'must name its key in brackets: "request.headers[x-token]", "request.auth.claims[groups]"' };
  }
  return { problem: `is not a supported condition key (${[...Object.keys(PLAIN_KEYS), 'request.headers[...]', 'request.auth.claims[...]'].join(', ')})` };
}

/** Why `key` is not a supported condition key, or undefined. */
export function conditionKeyProblem(key: string): string | undefined {
  const k = conditionKey(key);
  return 'problem' in k ? k.problem : undefined;
}
