import { WeftError } from '../lib/errors.js';

/** Codes of the attest domain (join tokens); each is documented in docs/errors.md. */
export const ATTEST_ERROR_CODES = [
  'WEFT_TOKEN_MALFORMED',
  'WEFT_TOKEN_FOREIGN',
  'WEFT_TOKEN_FORGED',
  'WEFT_TOKEN_UNKNOWN',
  'WEFT_TOKEN_EXPIRED',
  'WEFT_TOKEN_REVOKED',
  'WEFT_TOKEN_REUSED',
  'WEFT_TOKEN_NOT_FOUND',
  'WEFT_TOKEN_TTL_INVALID',
  'WEFT_TOKEN_STORE_CORRUPT',
  'WEFT_TOKEN_STORE_BUSY',
  'WEFT_TOKEN_RESERVED_IDENTITY',
] as const;

export type AttestErrorCode = (typeof ATTEST_ERROR_CODES)[number];

/** The codes a presented join token is refused with, by `decodeJoinToken` and `JoinTokenStore#verify`. */
export type JoinTokenRefusalCode =
  | 'WEFT_TOKEN_MALFORMED'
  | 'WEFT_TOKEN_FOREIGN'
  | 'WEFT_TOKEN_FORGED'
  | 'WEFT_TOKEN_UNKNOWN'
  | 'WEFT_TOKEN_EXPIRED'
  | 'WEFT_TOKEN_REVOKED'
  | 'WEFT_TOKEN_REUSED';

/**
 * Why a token was refused, finer than its code and stable, for callers and logs that switch on it.
 * Foreign: 'trust-domain' | 'ca-fingerprint' | 'signing-key'. Forged: 'alg' | 'signature' | 'claims'.
 */
export type JoinTokenRefusalReason =
  | 'encoding'
  | 'header'
  | 'claims'
  | 'trust-domain'
  | 'ca-fingerprint'
  | 'signing-key'
  | 'alg'
  | 'signature'
  | 'unknown'
  | 'expired'
  | 'revoked'
  | 'reused';

/**
 * A join token was refused. The message is a lowercase sentence that names the token id (once the
 * id could be read) and the reason; it never contains the token text, so it is safe to log and to
 * send back to the workload that presented it.
 */
export class JoinTokenError extends WeftError<JoinTokenRefusalCode> {
  /** The token's id (its `jti`), when the token was well-formed enough to carry one. */
  readonly tokenId: string | undefined;
  readonly reason: JoinTokenRefusalReason;

  constructor(code: JoinTokenRefusalCode, reason: JoinTokenRefusalReason, tokenId: string | undefined, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'JoinTokenError';
    this.reason = reason;
    this.tokenId = tokenId;
  }
}

/** The token store could not do what the operator asked, or its files are unusable. */
export class JoinTokenStoreError extends WeftError<
  'WEFT_TOKEN_NOT_FOUND' | 'WEFT_TOKEN_TTL_INVALID' | 'WEFT_TOKEN_STORE_CORRUPT' | 'WEFT_TOKEN_STORE_BUSY'
> {
  /** The file at fault, for the store's own errors. */
  readonly path: string | undefined;

  constructor(
    code: 'WEFT_TOKEN_NOT_FOUND' | 'WEFT_TOKEN_TTL_INVALID' | 'WEFT_TOKEN_STORE_CORRUPT' | 'WEFT_TOKEN_STORE_BUSY',
    message: string,
    options?: { cause?: unknown; path?: string },
  ) {
    super(code, message, options);
    this.name = 'JoinTokenStoreError';
    this.path = options?.path;
  }
}

/** A join token names the control plane's identity or an admin identity: refused before anything changes. */
export class ReservedIdentityError extends WeftError<'WEFT_TOKEN_RESERVED_IDENTITY'> {
  readonly spiffeId: string;

  constructor(spiffeId: string, message: string) {
    super('WEFT_TOKEN_RESERVED_IDENTITY', message);
    this.name = 'ReservedIdentityError';
    this.spiffeId = spiffeId;
  }
}

/** Every error the attest domain raises, for `switch (err.code)`. */
export type AnyAttestError = JoinTokenError | JoinTokenStoreError | ReservedIdentityError;
