import { WeftError } from '../lib/errors.js';

/** Codes of the CA domain; each is documented in docs/errors.md. */
export const CA_ERROR_CODES = [
  'WEFT_CA_NOT_INITIALISED',
  'WEFT_CA_FILE_UNREADABLE',
  'WEFT_CA_FILE_INVALID',
  'WEFT_CA_KEY_MISMATCH',
  'WEFT_CA_UNSUPPORTED_KEY',
  'WEFT_CA_SIGNER_EXPIRED',
  'WEFT_CA_SIGNER_NOT_YET_VALID',
  'WEFT_CA_SIGNER_NOT_CA',
  'WEFT_CA_CHAIN_INVALID',
  'WEFT_CA_TRUST_DOMAIN_MISMATCH',
  'WEFT_CA_ALREADY_EXISTS',
  'WEFT_CSR_MALFORMED',
  'WEFT_CSR_BAD_SIGNATURE',
  'WEFT_CSR_UNSUPPORTED_KEY',
  'WEFT_CSR_SAN_COUNT',
  'WEFT_CSR_BAD_SPIFFE_ID',
  'WEFT_CSR_FOREIGN_TRUST_DOMAIN',
  'WEFT_CSR_REQUESTS_CA',
  'WEFT_CSR_IDENTITY_MISMATCH',
  'WEFT_CA_RENEWAL_REFUSED',
  'WEFT_CA_CERT_REVOKED',
  'WEFT_CA_RESERVED_IDENTITY',
  'WEFT_CA_REVOKE_INVALID',
] as const;

export type CaErrorCode = (typeof CA_ERROR_CODES)[number];

/** The CA cannot start, or refuses to sign; `file` names the file at fault where there is one. */
export class CaError extends WeftError<CaErrorCode> {
  readonly file?: string;

  constructor(code: CaErrorCode, message: string, options?: { cause?: unknown; file?: string }) {
    super(code, message, options);
    this.name = 'CaError';
    this.file = options?.file;
  }
}
