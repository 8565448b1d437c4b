// The configuration store's contract. Every implementation (memory, directory, and later etcd)
// passes the same contract suite (contract.test-suite.ts). Revisions are store-wide integers that
// grow with every change, as etcd's modification revisions do; a resource's
// metadata.resourceVersion is the revision of its last change.
import type { Issue } from '../issue.js';
import type { Resource } from '../generated/types.js';
import type { StoredResource } from '../stored.js';

export type ChangeAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ChangeResult {
  readonly key: string;
  readonly action: ChangeAction;
  readonly before?: StoredResource;
  readonly after?: StoredResource;
}

/** The outcome of an apply or delete: the store revision after it, and what happened to each resource. */
export interface ChangeSet {
  readonly revision: number;
  readonly results: readonly ChangeResult[];
}

export interface ChangeOptions {
  /** Validate and report only; nothing changes. */
  readonly dryRun?: boolean;
  /** key -> the resourceVersion the caller read; a resource that moved on refuses the whole change. */
  readonly expectedResourceVersions?: ReadonlyMap<string, string>;
}

export type StoreEvent =
  | { readonly type: 'added' | 'modified'; readonly key: string; readonly resource: StoredResource; readonly revision: number; readonly source: 'api' | 'file' }
  | { readonly type: 'deleted'; readonly key: string; readonly resource: StoredResource; readonly revision: number; readonly source: 'api' | 'file' }
  /** A file edited by hand failed validation; the last good version stays in force. */
  | { readonly type: 'invalid'; readonly key?: string; readonly file: string; readonly issues: readonly Issue[]; readonly revision: number };

export interface ConfigStore {
  list(filter?: { readonly kind?: string; readonly namespace?: string }): Promise<readonly StoredResource[]>;
  get(key: string): Promise<StoredResource | undefined>;
  /** Creates or updates every resource, or none (a stale expected version refuses all). */
  apply(resources: readonly Resource[], opts?: ChangeOptions): Promise<ChangeSet>;
  /** Deletes every key, or none (an unknown key or a stale expected version refuses all). */
  delete(keys: readonly string[], opts?: ChangeOptions): Promise<ChangeSet>;
  revision(): Promise<number>;
  /** Calls `listener` with every event after it is registered; returns the function that stops it. */
  watch(listener: (event: StoreEvent) => void): () => void;
  /** Calls `listener` after every change (for consumers that re-read everything). */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}
