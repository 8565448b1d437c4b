// The library API of weft: identities, the certificate authority and join tokens.
export { WeftError, isWeftError, LIB_ERROR_CODES } from './lib/errors.js';
export { ACCESS_LOG_FORMAT_ERROR_CODES } from './lib/access-log-format.js';
export { type Clock, systemClock, FrozenClock } from './lib/clock.js';
export { parseDuration, formatDuration } from './lib/duration.js';
export * from './identity/index.js';
export * from './attest/index.js';
export * from './ca/index.js';
// Error code lists of the mesh's runtime domains, so every code weft can raise is discoverable.
export { REGISTRY_ERROR_CODES } from './registry/errors.js';
export { AGENT_ERROR_CODES } from './agent/errors.js';
export { PROXY_ERROR_CODES } from './proxy/errors.js';
export { EXTAUTHZ_ERROR_CODES } from './proxy/ext-authz/errors.js';
export { ADMIN_ERROR_CODES } from './controlplane/admin/errors.js';
export { DISCOVERY_ERROR_CODES } from './controlplane/discovery/errors.js';
export { PROXY_CONFIG_ERROR_CODES } from './cli/proxy-config-errors.js';
export * from './config/index.js';
export * from './policy/index.js';
export * from './policy/jwt/index.js';
