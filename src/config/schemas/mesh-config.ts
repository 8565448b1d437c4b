// weft's MeshConfig (weft.dev/v1alpha1): the mesh-wide settings Istio keeps in its meshConfig,
// as one cluster-scoped resource. Field names and enum values follow Istio's MeshConfig
// (mesh/v1alpha1/config.proto) where Istio has the setting; defaults are filled in on parse.
import type { MeshConfig } from '../generated/types.js';
import { parseAccessLogFormat, parseJsonFormatObject } from '../../lib/access-log-format.js';
import { bool, duration, enumOf, int, kindSchema, list, map, obj, percent, port, ref, str, uint32 } from './common.js';
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
    // Off by default, as in Istio; /dev/stdout, /dev/stderr or an absolute file path.
    accessLogFile: str('accessLogFile', { maxLength: 4096 }),
    accessLogEncoding: { ...enumOf('TEXT', 'JSON'), default: 'TEXT' },
    accessLogFormat: str(undefined, { maxLength: 16384 }),
    defaultConfig: obj({ tracing: obj({ sampling: percent }) }),
    defaultProviders: obj({ tracing: list(str('dnsLabel'), { maxItems: 1 }) }),
  }),
  ExtensionProvider: obj(
    { name: str('dnsLabel'), envoyExtAuthzHttp: ref('EnvoyExtAuthzHttpProvider'), envoyExtAuthzGrpc: ref('EnvoyExtAuthzGrpcProvider'), opentelemetry: ref('OpenTelemetryTracingProvider') },
    {
      required: ['name'],
      atLeastOne: ['envoyExtAuthzHttp', 'envoyExtAuthzGrpc', 'opentelemetry'],
      exclusive: [['envoyExtAuthzHttp', 'envoyExtAuthzGrpc', 'opentelemetry']],
    },
  ),
  // An OTLP collector (Istio's OpenTelemetryTracingProvider). weft exports OTLP over HTTP.
  OpenTelemetryTracingProvider: obj(
    {
      service: str('serviceRef'),
      port,
      maxTagLength: uint32,
      http: obj({ path: str('absolutePath'), timeout: duration, headers: list(obj({ name: str('headerName'), value: str(undefined, { maxLength: 4096 }) }, { required: ['name'] }), { maxItems: 32 }) }),
      grpc: obj({ timeout: duration }),
    },
    { required: ['service', 'port'] },
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
    accessLogFormatCheck,
    tracingProviderCheck,
  ],
};

/**
 * accessLogFormat must compile as the sidecar will compile it: a format string for TEXT, a JSON
 * object of format strings for JSON; the issue names the operator at fault.
 */
function accessLogFormatCheck(m: MeshConfig): ReturnType<typeof pathIssue>[] {
  const format = m.spec.accessLogFormat;
  if (typeof format !== 'string' || format === '') return [];
  try {
    if (m.spec.accessLogEncoding !== 'JSON') parseAccessLogFormat(format);
    else {
      for (const [k, f] of Object.entries(parseJsonFormatObject(format))) {
        try {
          parseAccessLogFormat(f);
        } catch (err) {
          throw new Error(`key ${JSON.stringify(k.slice(0, 64))}: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    return [];
  } catch (err) {
    return [pathIssue(['spec', 'accessLogFormat'], 'WEFT_CONFIG_INVALID_VALUE', `invalid access log format: ${(err as Error).message}`)];
  }
}

/** defaultProviders.tracing names an opentelemetry provider of extensionProviders. */
function tracingProviderCheck(m: MeshConfig): ReturnType<typeof pathIssue>[] {
  const names = m.spec.defaultProviders?.tracing;
  if (!Array.isArray(names)) return [];
  const providers = Array.isArray(m.spec.extensionProviders) ? m.spec.extensionProviders : [];
  return names.flatMap((name, i) => {
    const p = providers.find((x) => x.name === name);
    if (p === undefined) return [pathIssue(['spec', 'defaultProviders', 'tracing', i], 'WEFT_CONFIG_MISSING_DEPENDENCY', `no extensionProviders entry is named ${JSON.stringify(name)}`)];
    if (p.opentelemetry === undefined) return [pathIssue(['spec', 'defaultProviders', 'tracing', i], 'WEFT_CONFIG_INVALID_VALUE', `extension provider ${JSON.stringify(name)} is not an opentelemetry provider: tracing needs one`)];
    return [];
  });
}
