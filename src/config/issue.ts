import { ConfigValidationError, type IssueCode } from './errors.js';

/**
 * One problem found in resource text: where it is (file, 1-based line and column of the YAML/JSON
 * node at fault), which field (`spec.rules[0].from[0].source.ipBlocks[1]`, relative to the
 * resource; empty for problems with the document itself), and what is wrong.
 */
export interface Issue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
  readonly code: IssueCode;
}

/** Either the validated value, or every issue found (never only the first). */
export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly Issue[] };

/** `file:line:column: path: message (code)`, the form the CLI prints. */
export function formatIssue(issue: Issue): string {
  const path = issue.path === '' ? '' : `${issue.path}: `;
  return `${issue.file}:${issue.line}:${issue.column}: ${path}${issue.message} (${issue.code})`;
}

/** The value of a successful result; throws ConfigValidationError carrying every issue otherwise. */
export function assertValid<T>(result: ValidationResult<T>): T {
  if (result.ok) return result.value;
  throw new ConfigValidationError(result.issues);
}

/** Orders issues by file, then position, then path, so output is stable whatever order checks ran in. */
export function sortIssues(issues: readonly Issue[]): Issue[] {
  return [...issues].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.column - b.column ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}
