// weft's MeshConfig (weft.dev/v1alpha1): the mesh-wide settings Istio keeps in its meshConfig,
// as one cluster-scoped resource. Field names and enum values follow Istio's MeshConfig
// (mesh/v1alpha1/config.proto) where Istio has the setting; defaults are filled in on parse.
import type { MeshConfig } from '../generated/types.js';
import { bool, duration, enumOf, int, kindSchema, list, map, obj, port, ref, str } from './common.js';
import { pathIssue, type KindDefinition } from './kind.js';

/**
 * The path normalization in force when MeshConfig does not set one. MERGE_SLASHES, not Istio's
 * BASE: under BASE a DENY on `/api/admin` does not stop `/api//admin`, which most application
 * routers serve as `/api/admin` (docs/policy.md, "Path normalization").
 */
export const DEFAULT_PATH_NORMALIZATION = 'MERGE_SLASHES';

// A check holds the body in memory while the provider decides: bounded (Istio leaves it at uint32).
const requestBody = obj({ maxRequestBytes: int(1, 16 << 20), allowPartialMessage: bool, packAsBytes: bool });
const headerPatterns = list(str('headerPattern'));
/**
 * weft's decision cache for one provider (not Istio's: Envoy's ext_authz has none). Present = on.
 * Bounded in entries and bytes; a provider's answer names its own TTL, capped by maxTtl.
 */
const decisionCache = obj({
  maxEntries: int(1, 1_000_000),
  maxBytes: int(4096, 1 << 30),
  defaultTtl: duration,
  maxTtl: duration,
});

const defs = {
  MeshConfigSpec: obj({
    trustDomain: str('trustDomain'),
    trustDomainAliases: list(str('trustDomain')),
    rootNamespace: str('namespace', { default: 'istio-system' }),
    mtls: obj({ mode: { ...enumOf('STRICT', 'PERMISSIVE', 'DISABLE'), default: 'STRICT' } }, { default: { mode: 'STRICT' } }),
    outboundTrafficPolicy: obj({ mode: { ...enumOf('ALLOW_ANY', 'REGISTRY_ONLY'), default: 'ALLOW_ANY' } }, { default: { mode: 'ALLOW_ANY' } }),
    pathNormalization: obj(
      { normalization: { ...enumOf('NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'), default: DEFAULT_PATH_NORMALIZATION } },
      { default: { normalization: DEFAULT_PATH_NORMALIZATION } },
    ),
    extensionProviders: list(ref('ExtensionProvider'), { uniqueBy: 'name' }),
    certificate: obj({ ttl: { ...duration, default: '1h' } }, { default: { ttl: '1h' } }),
    adminIdentities: list(str('spiffeId')),
  }),
  ExtensionProvider: obj(
    { name: str('dnsLabel'), envoyExtAuthzHttp: ref('EnvoyExtAuthzHttpProvider'), envoyExtAuthzGrpc: ref('EnvoyExtAuthzGrpcProvider') },
    {
      required: ['name'],
      atLeastOne: ['envoyExtAuthzHttp', 'envoyExtAuthzGrpc'],
      exclusive: [['envoyExtAuthzHttp', 'envoyExtAuthzGrpc']],
    },
  ),
  EnvoyExtAuthzHttpProvider: obj(
    {
      service: str('serviceRef'),
      port,
      timeout: duration,
      pathPrefix: str('absolutePath'),
      failOpen: bool,
      clearRouteCache: bool,
      statusOnError: str('httpStatus'),
      includeHeadersInCheck: headerPatterns,
      includeRequestHeadersInCheck: headerPatterns,
      includeAdditionalHeadersInCheck: map(str(), 'headerName'),
      includeRequestBodyInCheck: requestBody,
      headersToUpstreamOnAllow: headerPatterns,
      headersToDownstreamOnDeny: headerPatterns,
      headersToDownstreamOnAllow: headerPatterns,
      cache: decisionCache,
    },
    { required: ['service', 'port'] },
  ),
  EnvoyExtAuthzGrpcProvider: obj(
    {
      service: str('serviceRef'),
      port,
      timeout: duration,
      failOpen: bool,
      clearRouteCache: bool,
      statusOnError: str('httpStatus'),
      includeRequestBodyInCheck: requestBody,
      cache: decisionCache,
    },
    { required: ['service', 'port'] },
  ),
};

export const meshConfig: KindDefinition<MeshConfig> = {
  kind: 'MeshConfig',
  group: 'weft.dev',
  versions: ['v1alpha1'],
  namespaced: false,
  schema: kindSchema({ kind: 'MeshConfig', group: 'weft.dev', versions: ['v1alpha1'], defs }),
  crossChecks: [
    (m) =>
      m.metadata.namespace !== undefined
        ? [pathIssue(['metadata', 'namespace'], 'WEFT_CONFIG_INVALID_NAMESPACE', 'MeshConfig is cluster-scoped: remove metadata.namespace', 'key')]
        : [],
    // One mesh, one MeshConfig: a second one under another name would be a silent no-op.
    (m) =>
      m.metadata.name !== 'default'
        ? [pathIssue(['metadata', 'name'], 'WEFT_CONFIG_INVALID_NAME', `the MeshConfig must be named "default" (there is one per mesh), not ${JSON.stringify(m.metadata.name)}`)]
        : [],
  ],
};
