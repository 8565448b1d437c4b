// RequestAuthentication (JWT): the pure part. Compile the jwtRules that select a workload once per
// snapshot, then authenticate each request with a key resolver (src/proxy/jwks does the fetching).
export { compileJwtRules, jwksSourceKey, describeLocation, DEFAULT_JWKS_TIMEOUT_MS, type JwtWorkload } from './compile.js';
export { authenticateRequest, claimHeaderValue } from './authenticate.js';
export { extractTokens, stripPrefix, type FoundToken } from './extract-tokens.js';
export { parseQueryParams, parseCookies, removeQueryParams } from './request-parts.js';
export { staticKeyResolver } from './static-resolver.js';
export { JwksKeySet, ACCEPTED_ALGORITHMS, isAcceptedAlgorithm, MAX_KEYS } from './key-set.js';
export { JWT_CLOCK_SKEW_SECONDS, MAX_TOKEN_LENGTH } from './verify-token.js';
export { VerifiedTokenCache, VERIFIED_TOKEN_CACHE_SIZE, MAX_CACHED_TOKEN_LENGTH, type VerifiedToken } from './verified-tokens.js';
export { JWT_ERROR_CODES, JwksError, type JwtErrorCode, type JwtRefusalCode } from './errors.js';
export type {
  CompiledJwtAuthenticator,
  CompiledJwtRule,
  JwksSource,
  JwtAbsent,
  JwtAuthenticated,
  JwtAuthnResult,
  JwtKeyResolver,
  JwtRefused,
  JwtRequest,
  JwtRuleRef,
  KeyLookup,
  TokenLocation,
  VerificationKey,
} from './types.js';
