/** Codes raised by the shared helpers; each is documented in docs/errors.md. */
export const LIB_ERROR_CODES = ['WEFT_DURATION_INVALID', 'WEFT_FILE_UNREADABLE', 'WEFT_DER_MALFORMED'] as const;

/**
 * The base of every error weft raises for bad input from a file, the network or a peer. Each has a
 * stable machine-readable `code` (product-prefixed so it never collides with Node's `ERR_*`) and a
 * lowercase human sentence. Bad arguments from a programmer are `TypeError`s instead.
 */
export class WeftError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'WeftError';
  }
}

/** True when `err` is a WeftError, optionally with one of the given codes. */
export function isWeftError(err: unknown, ...codes: string[]): err is WeftError {
  return err instanceof WeftError && (codes.length === 0 || codes.includes(err.code));
}

/** The message of anything thrown, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof WeftError) return `${err.message} (${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}
