// External authorization (CUSTOM policies) as pure data: the providers of MeshConfig, the check
// a request sends them, and the decision cache's key.
export { canonicalJson, compileProvider, matchesAny, providerAddress, DEFAULT_CACHE, DEFAULT_PROVIDER_TIMEOUT_MS, DEFAULT_STATUS_ON_ERROR, type BodySettings, type CacheSettings, type CompiledProvider, type GrpcProvider, type HeaderPatterns, type HttpProvider } from './provider.js';
export { checkKey, grpcCheckRequest, httpCheckRequest, PARTIAL_BODY_HEADER, type CheckInput, type HttpCheckRequest } from './check-request.js';
