import { WeftError } from '../lib/errors.js';

/** Codes of `weft proxy-config` and `weft proxy-status`; each is documented in docs/errors.md. */
export const PROXY_CONFIG_ERROR_CODES = ['WEFT_PROXY_CONFIG_NOT_FOUND', 'WEFT_PROXY_CONFIG_AMBIGUOUS', 'WEFT_PROXY_CONFIG_UNREACHABLE'] as const;
type Code = (typeof PROXY_CONFIG_ERROR_CODES)[number];

export class ProxyConfigError extends WeftError<Code> {
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProxyConfigError';
  }
}
