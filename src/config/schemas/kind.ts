import type { IssueCode } from '../errors.js';
import type { Target } from '../load.js';
import type { Segment } from '../path.js';
import type { PathIssue } from '../schema-issues.js';
import type { JsonSchema } from './common.js';

/**
 * A rule JSON Schema cannot say (one field's meaning depends on another's value). It receives the
 * resource as parsed, which may still break its schema (checks run anyway so every issue is
 * reported at once), so it reads defensively; a check that throws on malformed data is skipped.
 */
export type CrossCheck<T> = { check(resource: T): PathIssue[] }['check'];

/** What weft knows about one kind: where it is served, its schema and its cross-field checks. */
export interface KindDefinition<T = unknown> {
  readonly kind: string;
  readonly group: string;
  readonly versions: readonly string[];
  /** False for cluster-scoped kinds (MeshConfig), which have no metadata.namespace. */
  readonly namespaced: boolean;
  readonly schema: JsonSchema;
  readonly crossChecks: readonly CrossCheck<T>[];
}

/** An issue for a cross check to return. */
export function pathIssue(segments: readonly Segment[], code: IssueCode, message: string, target: Target = 'value'): PathIssue {
  return { segments, code, message, target };
}

/** `value` when it is an array, else an empty one (for reading possibly malformed data). */
export function arr<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [];
}
