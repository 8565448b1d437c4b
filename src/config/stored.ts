// The form a resource takes once a store holds it: the validated resource plus the metadata the
// server sets (as Kubernetes does). Policy precedence ("among equals the oldest") and optimistic
// concurrency both read these fields, so they travel with the resource into snapshots.
import { ConfigValidationError } from './errors.js';
import { deepFreeze } from './freeze.js';
import type { MeshConfig, MeshConfigSpec, Resource } from './generated/types.js';
import type { Issue } from './issue.js';
import { parseResources } from './validate.js';

export interface ServerMetadata {
  /** Decimal string of the store's revision at the resource's last change; increases monotonically. */
  readonly resourceVersion: string;
  /** RFC 3339 time of the resource's creation; kept across updates. */
  readonly creationTimestamp: string;
  /** Increases by one on every change of the resource's content. */
  readonly generation: number;
}

/** A resource as a store returns it. */
export type StoredResource<R extends Resource = Resource> = R & { readonly metadata: R['metadata'] & ServerMetadata };

/**
 * Reads resources back from their stored JSON (a snapshot, a store file): validated exactly like
 * an apply, with the server-set metadata kept. Throws ConfigValidationError naming `source` and
 * the document's index when any is invalid, so a caller refuses the whole set.
 */
export function decodeStoredResources(documents: readonly string[], source: string): StoredResource[] {
  const out: StoredResource[] = [];
  const issues: Issue[] = [];
  documents.forEach((json, i) => {
    let meta: Readonly<Record<string, unknown>> = {};
    const parsed = parseResources(json, `${source}[${i}]`, { onServerMetadata: (_key, m) => (meta = m) });
    if (!parsed.ok) {
      issues.push(...parsed.issues);
      return;
    }
    for (const r of parsed.value) {
      out.push(deepFreeze({
        ...r,
        metadata: {
          ...r.metadata,
          resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '0',
          creationTimestamp: typeof meta.creationTimestamp === 'string' ? meta.creationTimestamp : '1970-01-01T00:00:00Z',
          generation: typeof meta.generation === 'number' ? meta.generation : 1,
        },
      }) as StoredResource);
    }
  });
  if (issues.length > 0) throw new ConfigValidationError(issues);
  return out;
}

let defaults: MeshConfigSpec | undefined;

/** The MeshConfig spec in force when none is stored: every field at its documented default. */
export function defaultMeshConfigSpec(): MeshConfigSpec {
  if (defaults === undefined) {
    const parsed = parseResources('apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\n', 'defaults');
    if (!parsed.ok) throw new Error('the default MeshConfig does not validate');
    defaults = (parsed.value[0] as MeshConfig).spec;
  }
  return defaults;
}

/** The resource without the metadata the server sets: what "unchanged" compares, what a diff shows. */
export function withoutServerMetadata(r: Resource | StoredResource): Resource {
  const metadata: Record<string, unknown> = { ...r.metadata };
  delete metadata.resourceVersion;
  delete metadata.creationTimestamp;
  delete metadata.generation;
  return { ...r, metadata } as unknown as Resource;
}
