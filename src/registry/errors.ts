import { WeftError } from '../lib/errors.js';

/** Codes of the registry domain; each is documented in docs/errors.md. */
export const REGISTRY_ERROR_CODES = [
  'WEFT_REGISTRATION_INVALID',
  'WEFT_REGISTRATION_FORBIDDEN',
  'WEFT_WORKLOAD_NOT_FOUND',
  'WEFT_REGISTRATION_LIMIT',
  'WEFT_REGISTRATION_TOO_LARGE',
  'WEFT_REGISTRATION_CONFLICT',
] as const;

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

export class RegistryError extends WeftError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string) {
    super(code, message);
    this.name = 'RegistryError';
  }
}
