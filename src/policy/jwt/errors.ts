// Codes of RequestAuthentication. A refused token is a result, not an exception: each refusal
// carries one of the `WEFT_JWT_*` codes so the proxy can put it in `x-weft-proxy-error` and the
// access log. `WEFT_JWKS_*` are thrown while reading a key set and logged by the resolver.
import { WeftError } from '../../lib/errors.js';

/** Every code RequestAuthentication can produce; each is documented in docs/errors.md. */
export const JWT_ERROR_CODES = [
  'WEFT_JWT_MALFORMED',
  'WEFT_JWT_ALG_NONE',
  'WEFT_JWT_ALG_NOT_ALLOWED',
  'WEFT_JWT_UNKNOWN_ISSUER',
  'WEFT_JWT_UNKNOWN_KID',
  'WEFT_JWT_KEYS_UNAVAILABLE',
  'WEFT_JWT_BAD_SIGNATURE',
  'WEFT_JWT_EXPIRED',
  'WEFT_JWT_NOT_YET_VALID',
  'WEFT_JWT_AUDIENCE',
  'WEFT_JWKS_INVALID',
  'WEFT_JWKS_FETCH_FAILED',
] as const;

export type JwtErrorCode = (typeof JWT_ERROR_CODES)[number];

/** The codes a refused token can carry (the others belong to key sets). */
export type JwtRefusalCode = Exclude<JwtErrorCode, 'WEFT_JWKS_INVALID' | 'WEFT_JWKS_FETCH_FAILED'>;

/**
 * A key set that cannot be used: unparsable JSON, no usable key, a fetch that failed. `source`
 * names where the set came from (a URL, or `inline` for a rule's `jwks`).
 */
export class JwksError extends WeftError<'WEFT_JWKS_INVALID' | 'WEFT_JWKS_FETCH_FAILED'> {
  readonly source: string;

  constructor(code: 'WEFT_JWKS_INVALID' | 'WEFT_JWKS_FETCH_FAILED', source: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'JwksError';
    this.source = source;
  }
}
