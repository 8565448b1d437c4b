// The in-memory store: for tests, and for a control plane that needs no persistence.
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Resource } from '../generated/types.js';
import type { StoredResource } from '../stored.js';
import { StoreState, type Plan } from './state.js';
import type { ChangeOptions, ChangeSet, ConfigStore, StoreEvent } from './types.js';
import { key as keyOf } from '../resources.js';

export class StoreListeners {
  readonly #watchers = new Set<(e: StoreEvent) => void>();
  readonly #changeListeners = new Set<() => void>();

  watch(listener: (e: StoreEvent) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  emit(events: readonly StoreEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) for (const w of this.#watchers) w(e);
    if (events.some((e) => e.type !== 'invalid')) for (const l of this.#changeListeners) l();
  }

  clear(): void {
    this.#watchers.clear();
    this.#changeListeners.clear();
  }
}

/** The events a committed plan produces. */
export function planEvents(plan: Plan, source: 'api' | 'file'): StoreEvent[] {
  return [
    ...plan.results
      .filter((r) => r.action === 'created' || r.action === 'configured')
      .map((r): StoreEvent => ({ type: r.action === 'created' ? 'added' : 'modified', key: r.key, resource: r.after!, revision: plan.revision, source })),
    ...plan.removes.map((r): StoreEvent => ({ type: 'deleted', key: keyOf(r), resource: r, revision: plan.revision, source })),
  ];
}

/**
 * The in-memory store, and the base of the stores that persist: a persisting store writes each
 * planned change in `persist` before it takes effect here.
 */
export class MemoryConfigStore implements ConfigStore {
  protected readonly state: StoreState;
  protected readonly listeners = new StoreListeners();

  constructor(opts: { clock?: Clock } = {}) {
    this.state = new StoreState(opts.clock ?? systemClock);
  }

  async list(filter?: { kind?: string; namespace?: string }): Promise<readonly StoredResource[]> {
    return this.state.list(filter);
  }

  async get(key: string): Promise<StoredResource | undefined> {
    return this.state.items.get(key);
  }

  async apply(resources: readonly Resource[], opts: ChangeOptions = {}): Promise<ChangeSet> {
    this.beforeChange();
    return this.run(this.state.planApply(resources, opts), opts, 'api');
  }

  async delete(keys: readonly string[], opts: ChangeOptions = {}): Promise<ChangeSet> {
    this.beforeChange();
    return this.run(this.state.planDelete(keys, opts), opts, 'api');
  }

  async revision(): Promise<number> {
    return this.state.revision;
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.watch(listener);
  }

  onChange(listener: () => void): () => void {
    return this.listeners.onChange(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** Called before a change is planned (the directory store catches up with hand edits). */
  protected beforeChange(): void {}

  /** Makes a planned change durable before it takes effect; the memory store keeps nothing. */
  protected persist(_plan: Plan): void {}

  protected run(plan: Plan, opts: ChangeOptions, source: 'api' | 'file'): ChangeSet {
    if (opts.dryRun !== true && (plan.puts.length > 0 || plan.removes.length > 0)) {
      this.persist(plan);
      this.state.commit(plan);
      this.listeners.emit(planEvents(plan, source));
    }
    return { revision: opts.dryRun === true ? this.state.revision : plan.revision, results: plan.results };
  }
}
