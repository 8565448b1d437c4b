import { WeftError } from '../../lib/errors.js';

/** Codes of the configuration stores; each is documented in docs/errors.md. */
export const STORE_ERROR_CODES = ['WEFT_STORE_CONFLICT', 'WEFT_STORE_NOT_FOUND', 'WEFT_STORE_LOCKED', 'WEFT_STORE_CORRUPT', 'WEFT_STORE_IO'] as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

export class StoreError extends WeftError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}
