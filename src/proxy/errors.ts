import { WeftError } from '../lib/errors.js';

/** Codes of the data path; each is documented in docs/errors.md. */
export const PROXY_ERROR_CODES = [
  'WEFT_PROXY_BAD_REQUEST',
  'WEFT_PROXY_UNKNOWN_SERVICE',
  'WEFT_PROXY_UNKNOWN_PORT',
  'WEFT_PROXY_NO_ENDPOINTS',
  'WEFT_PROXY_SECURE_NAMING',
  'WEFT_PROXY_UPSTREAM_UNAVAILABLE',
  'WEFT_PROXY_UPSTREAM_RESET',
  'WEFT_PROXY_STREAMS_EXHAUSTED',
  'WEFT_PROXY_APP_UNAVAILABLE',
  'WEFT_PROXY_PEER_REFUSED',
  'WEFT_PROXY_IDENTITY_REVOKED',
] as const;

export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[number];

/**
 * A failure on the request path. `message` is for logs (it may name identities and addresses);
 * `reason` is the short text a caller sees in `x-weft-proxy-error` and the body.
 */
export class ProxyError extends WeftError<ProxyErrorCode> {
  readonly reason: string;
  /** Extra structured fields for the log line (identities, endpoint). */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: ProxyErrorCode, reason: string, options: { message?: string; cause?: unknown; fields?: Record<string, unknown> } = {}) {
    super(code, options.message ?? reason, { cause: options.cause });
    this.name = 'ProxyError';
    this.reason = reason;
    this.fields = options.fields ?? {};
  }
}
