// External authorization on the request path: the HTTP and gRPC clients of ext_authz providers,
// the per-sidecar decision cache, and the CUSTOM stage of inbound authorization.
export { ExtAuthz, ProviderRuntime, EXT_AUTHZ_FLAG, type CheckOutcome, type ExtAuthzProviders, type ProviderCounters, type ProviderUse } from './runtime.js';
export { EXTAUTHZ_ERROR_CODES, type ExtAuthzErrorCode } from './errors.js';
export { AuthorizationService, EXT_AUTHZ_DEFINITION, readCheckResponse, type CheckResponseMessage } from './grpc-client.js';
export { TTL_HEADER, LIMITS as PROVIDER_ANSWER_LIMITS, type ProviderAnswer } from './answer.js';
export { DecisionCache } from './cache.js';
