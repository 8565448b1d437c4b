import { WeftError } from '../../lib/errors.js';

/** Codes of the admin API and its clients; each is documented in docs/errors.md. */
export const ADMIN_ERROR_CODES = [
  'WEFT_ADMIN_UNAUTHENTICATED',
  'WEFT_ADMIN_FORBIDDEN',
  'WEFT_ADMIN_NOT_FOUND',
  'WEFT_ADMIN_CONFLICT',
  'WEFT_ADMIN_BAD_REQUEST',
  'WEFT_ADMIN_TLS_REQUIRED',
  'WEFT_ADMIN_CONFIG_MISSING',
  'WEFT_ADMIN_CONFIG_INVALID',
  'WEFT_ADMIN_UNREACHABLE',
  'WEFT_ADMIN_UNTRUSTED',
  'WEFT_ADMIN_INTERNAL',
] as const;

export type AdminErrorCode = (typeof ADMIN_ERROR_CODES)[number];

const STATUS: Partial<Record<AdminErrorCode, number>> = {
  WEFT_ADMIN_UNAUTHENTICATED: 401,
  WEFT_ADMIN_FORBIDDEN: 403,
  WEFT_ADMIN_NOT_FOUND: 404,
  WEFT_ADMIN_CONFLICT: 409,
  WEFT_ADMIN_BAD_REQUEST: 400,
  WEFT_ADMIN_TLS_REQUIRED: 400,
};

export class AdminError extends WeftError<AdminErrorCode> {
  /** Extra machine-readable detail for the response body (validation issues, conflicts). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AdminErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { cause: options.cause });
    this.name = 'AdminError';
    this.details = options.details ?? {};
  }

  get httpStatus(): number {
    return STATUS[this.code] ?? 500;
  }
}
