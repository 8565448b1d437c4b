// JWKS fetching and caching for RequestAuthentication: the I/O half of src/policy/jwt.
export {
  JwksResolver,
  DEFAULT_REFRESH_INTERVAL_MS,
  DEFAULT_REFRESH_COOLDOWN_MS,
  DEFAULT_MAX_JWKS_BYTES,
  type JwksResolverOptions,
  type JwksSourceStatus,
} from './resolver.js';
export { fetchDocument, discoverJwksUri, type FetchOptions } from './fetch-jwks.js';
