import { WeftError } from '../lib/errors.js';
import type { Issue } from './issue.js';

/**
 * Codes of the config domain; each is documented in docs/errors.md. Every issue a resource file
 * can raise carries one of them, so a caller (the CLI, the admin API) can switch on it.
 */
export const CONFIG_ERROR_CODES = [
  'WEFT_CONFIG_INVALID',
  'WEFT_CONFIG_SYNTAX',
  'WEFT_CONFIG_UNKNOWN_KIND',
  'WEFT_CONFIG_UNKNOWN_FIELD',
  'WEFT_CONFIG_WRONG_TYPE',
  'WEFT_CONFIG_BAD_ENUM',
  'WEFT_CONFIG_REQUIRED_FIELD',
  'WEFT_CONFIG_OUT_OF_RANGE',
  'WEFT_CONFIG_INVALID_VALUE',
  'WEFT_CONFIG_INVALID_NAME',
  'WEFT_CONFIG_INVALID_NAMESPACE',
  'WEFT_CONFIG_INVALID_LABEL',
  'WEFT_CONFIG_INVALID_PRINCIPAL',
  'WEFT_CONFIG_INVALID_CIDR',
  'WEFT_CONFIG_INVALID_PORT',
  'WEFT_CONFIG_INVALID_HOST',
  'WEFT_CONFIG_INVALID_PATH',
  'WEFT_CONFIG_INVALID_REGEX',
  'WEFT_CONFIG_INVALID_DURATION',
  'WEFT_CONFIG_INVALID_CONDITION',
  'WEFT_CONFIG_EXCLUSIVE_FIELDS',
  'WEFT_CONFIG_MISSING_DEPENDENCY',
  'WEFT_CONFIG_DUPLICATE_RESOURCE',
  'WEFT_CONFIG_DUPLICATE_ENTRY',
] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** The codes an individual issue can carry (every code but the aggregate one). */
export type IssueCode = Exclude<ConfigErrorCode, 'WEFT_CONFIG_INVALID'>;

/**
 * Resource text that was refused as a whole; `issues` lists every problem found, each with its
 * file, line, column and field path. Thrown by callers that prefer exceptions to a
 * `ValidationResult` (see `assertValid`).
 */
export class ConfigValidationError extends WeftError<'WEFT_CONFIG_INVALID'> {
  readonly issues: readonly Issue[];

  constructor(issues: readonly Issue[]) {
    const first = issues[0];
    const where = first === undefined ? '' : `: ${first.file}:${first.line}:${first.column}: ${first.path === '' ? '' : `${first.path}: `}${first.message}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('WEFT_CONFIG_INVALID', `invalid configuration${where}${more}`);
    this.name = 'ConfigValidationError';
    this.issues = issues;
  }
}
