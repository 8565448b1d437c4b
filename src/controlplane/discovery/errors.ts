import { WeftError } from '../../lib/errors.js';

/** Codes of snapshot delivery; each is documented in docs/errors.md. */
export const DISCOVERY_ERROR_CODES = ['WEFT_SNAPSHOT_TOO_LARGE'] as const;

export type DiscoveryErrorCode = (typeof DISCOVERY_ERROR_CODES)[number];

export class DiscoveryError extends WeftError<DiscoveryErrorCode> {
  constructor(code: DiscoveryErrorCode, message: string) {
    super(code, message);
    this.name = 'DiscoveryError';
  }
}
