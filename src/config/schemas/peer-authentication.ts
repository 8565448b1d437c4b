// PeerAuthentication (security.istio.io/v1, v1beta1): https://istio.io/latest/docs/reference/config/security/peer_authentication/
import type { PeerAuthentication } from '../generated/types.js';
import { enumOf, kindSchema, map, obj, ref } from './common.js';
import { pathIssue, type KindDefinition } from './kind.js';

const defs = {
  PeerAuthenticationSpec: obj({
    selector: ref('WorkloadSelector'),
    mtls: ref('PeerAuthenticationMutualTLS'),
    portLevelMtls: map(ref('PeerAuthenticationMutualTLS'), 'portString', { minProperties: 1 }),
  }),
  PeerAuthenticationMutualTLS: obj({ mode: enumOf('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT') }),
};

export const peerAuthentication: KindDefinition<PeerAuthentication> = {
  kind: 'PeerAuthentication',
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  schema: kindSchema({ kind: 'PeerAuthentication', group: 'security.istio.io', versions: ['v1', 'v1beta1'], defs }),
  crossChecks: [
    // CRD rule "portLevelMtls requires selector": ports are workload ports, so they need a workload.
    (r) =>
      r.spec.portLevelMtls !== undefined && Object.keys(r.spec.selector?.matchLabels ?? {}).length === 0
        ? [pathIssue(['spec', 'portLevelMtls'], 'WEFT_CONFIG_MISSING_DEPENDENCY', 'portLevelMtls requires a selector with matchLabels (ports are workload ports)', 'key')]
        : [],
  ],
};
