// The in-memory state both stores keep: resources by key and the revision. A change is first
// planned (checked whole: versions, existence, no-ops), then committed; a store that persists
// writes the plan to disk between the two.
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../../lib/clock.js';
import type { Resource } from '../generated/types.js';
import { key as keyOf } from '../resources.js';
import { withoutServerMetadata, type StoredResource } from '../stored.js';
import { deepFreeze } from '../freeze.js';
import { StoreError } from './errors.js';
import type { ChangeOptions, ChangeResult } from './types.js';

export interface Plan {
  readonly revision: number;
  readonly results: readonly ChangeResult[];
  /** Resources to write (created or configured) and keys to remove. */
  readonly puts: readonly StoredResource[];
  readonly removes: readonly StoredResource[];
}

export class StoreState {
  readonly items = new Map<string, StoredResource>();
  revision = 0;
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  list(filter: { kind?: string; namespace?: string } = {}): StoredResource[] {
    return [...this.items.values()]
      .filter((r) => (filter.kind === undefined || r.kind === filter.kind) && (filter.namespace === undefined || r.metadata.namespace === filter.namespace))
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  }

  planApply(resources: readonly Resource[], opts: ChangeOptions = {}): Plan {
    this.#checkVersions(opts);
    const revision = this.revision + 1;
    const now = new Date(this.#clock.now()).toISOString();
    const puts: StoredResource[] = [];
    const results = resources.map((r): ChangeResult => {
      const k = keyOf(r);
      const before = this.items.get(k);
      if (before !== undefined && isDeepStrictEqual(withoutServerMetadata(before), withoutServerMetadata(r))) return { key: k, action: 'unchanged', before, after: before };
      const after = stored(r, {
        resourceVersion: String(revision),
        creationTimestamp: before?.metadata.creationTimestamp ?? now,
        generation: (before?.metadata.generation ?? 0) + 1,
      });
      puts.push(after);
      return { key: k, action: before === undefined ? 'created' : 'configured', ...(before === undefined ? {} : { before }), after };
    });
    return { revision: puts.length === 0 ? this.revision : revision, results, puts, removes: [] };
  }

  planDelete(keys: readonly string[], opts: ChangeOptions = {}): Plan {
    this.#checkVersions(opts);
    const missing = keys.filter((k) => !this.items.has(k));
    if (missing.length > 0) throw new StoreError('WEFT_STORE_NOT_FOUND', `${missing.join(', ')} not found; nothing was deleted`);
    const removes = [...new Set(keys)].map((k) => this.items.get(k)!);
    return { revision: this.revision + 1, results: removes.map((r) => ({ key: keyOf(r), action: 'deleted', before: r })), puts: [], removes };
  }

  commit(plan: Plan): void {
    for (const r of plan.puts) this.items.set(keyOf(r), r);
    for (const r of plan.removes) this.items.delete(keyOf(r));
    this.revision = Math.max(this.revision, plan.revision);
  }

  #checkVersions(opts: ChangeOptions): void {
    for (const [k, expected] of opts.expectedResourceVersions ?? []) {
      const current = this.items.get(k)?.metadata.resourceVersion;
      if (current !== expected) {
        throw new StoreError(
          'WEFT_STORE_CONFLICT',
          current === undefined
            ? `${k} was read at resourceVersion ${expected} but no longer exists; nothing was changed`
            : `${k} was modified (resourceVersion ${current}, you read ${expected}); read it again and reapply; nothing was changed`,
        );
      }
    }
  }
}

/** A resource with its server metadata, frozen. */
export function stored(r: Resource, meta: { resourceVersion: string; creationTimestamp: string; generation: number }): StoredResource {
  return deepFreeze({ ...r, metadata: { ...r.metadata, ...meta } }) as StoredResource;
}
