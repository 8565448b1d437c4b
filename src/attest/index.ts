// The attest domain: join tokens that let a new workload claim one identity on first contact.
export * from './errors.js';
export {
  CA_FINGERPRINT_PATTERN,
  JOIN_TOKEN_ALG,
  JOIN_TOKEN_TYPE,
  TOKEN_ID_PATTERN,
  decodeJoinToken,
  type DecodedJoinToken,
  type JoinTokenClaims,
} from './join-token.js';
export {
  DEFAULT_JOIN_TOKEN_TTL_MS,
  MAX_JOIN_TOKEN_TTL_MS,
  refuseReservedIdentity,
  type CreateJoinTokenOptions,
  type CreatedJoinToken,
} from './create-join-token.js';
export type { JoinTokenExpectation, JoinTokenState, VerifiedJoinToken } from './verify-join-token.js';
export { JoinTokenStore, type JoinTokenRecord, type JoinTokenStoreOptions } from './token-store.js';
export { formatMode, readJoinTokenFile, type JoinTokenFile } from './join-token-file.js';
