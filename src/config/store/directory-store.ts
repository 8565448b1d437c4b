// The directory store, the control plane's default: one YAML file per resource that an operator
// may also edit by hand. Durability and atomicity come from a journal: a change is first written
// whole to journal.json (one atomic rename), then applied file by file, then the journal is
// removed. A process killed at any point leaves either no journal (the old state, or the new one
// fully applied) or a complete journal that the next open replays; never a mix.
//
// resources/  the hand-editable files; .committed/  the last good version of each, written only
// by the store (a bad hand edit is reported and the committed version stays in force, across
// restarts too); state.json  the revision; store.lock  the owning process.
//
// I/O errors: only ENOENT means a file is gone. A rescan that meets any other error (EMFILE when
// descriptors run out, EIO, EACCES) changes nothing, is logged, and is retried with backoff; it
// never throws into a timer. A change whose journal is durable but whose files could not all be
// written is in force, and its files are written again before anything else happens.
import { randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { mkdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.js';
import { describeError } from '../../lib/errors.js';
import { pidFileOwner, pidFileOwnerIsGone, tryCreatePidFile } from '../../lib/pid-file.js';
import type { Issue } from '../issue.js';
import { key as keyOf } from '../resources.js';
import { toYaml } from '../serialize.js';
import { decodeStoredResources, withoutServerMetadata, type StoredResource } from '../stored.js';
import { parseResources } from '../validate.js';
import { relativePathOf, sha256, yamlFilesUnder } from './directory-layout.js';
import { StoreError } from './errors.js';
import { MemoryConfigStore, planEvents } from './memory-store.js';
import type { Plan } from './state.js';
import { isGone, nodeStoreFs, type StoreFs } from './store-fs.js';
import type { StoreEvent } from './types.js';

interface Journal {
  readonly revision: number;
  readonly puts: readonly { path: string; text: string }[];
  readonly removes: readonly string[];
}

export interface DirectoryStoreOptions {
  clock?: Clock;
  /** How often files are rescanned for hand edits, besides filesystem notifications. */
  rescanMs?: number;
  /** The file operations; tests inject failures here. */
  fs?: StoreFs;
  /** Where the store reports failed rescans and their recovery (the control plane's log). */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 30_000;

interface ReadFile {
  readonly path: string;
  readonly file: string;
  readonly stamp: string;
  readonly text: string;
  readonly hash: string;
}

export class DirectoryConfigStore extends MemoryConfigStore {
  readonly dir: string;
  /** path -> hash of the text last written or accepted there; anything else is a hand edit. */
  readonly #known = new Map<string, string>();
  /** path -> mtime:size last scanned, to skip unchanged files cheaply. */
  readonly #stat = new Map<string, string>();
  /** path -> hash of a hand edit already reported invalid. */
  readonly #reported = new Map<string, string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scanQueued = false;
  #closed = false;
  readonly #fs: StoreFs;
  readonly #logFn: DirectoryStoreOptions['log'];
  /** A change whose journal is durable but whose files are not all written yet. */
  #pending: Journal | undefined;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;

  private constructor(dir: string, opts: DirectoryStoreOptions) {
    super({ clock: opts.clock ?? systemClock });
    this.dir = dir;
    this.#fs = opts.fs ?? nodeStoreFs;
    this.#logFn = opts.log;
  }

  /** Opens (creating if needed) the store in `dir`, recovering from an interrupted change. */
  static async open(dir: string, opts: DirectoryStoreOptions = {}): Promise<DirectoryConfigStore> {
    const store = new DirectoryConfigStore(dir, opts);
    store.#lock();
    try {
      store.#recover();
      store.#load();
      store.#scan();
    } catch (err) {
      store.#unlock();
      throw err;
    }
    store.#startWatching(opts.rescanMs ?? 1_000);
    return store;
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    await super.close();
    this.#unlock();
  }

  /**
   * Picks up hand edits now (tests call it instead of waiting for the watch).
   *
   * @throws StoreError WEFT_STORE_IO when a file cannot be read; nothing was changed.
   */
  rescan(): void {
    this.#scan();
  }

  // === changes ===

  protected override beforeChange(): void {
    this.#scan();
  }

  /** The journal first (one atomic rename), then each file, then the journal goes. */
  protected override persist(plan: Plan): void {
    const journal: Journal = {
      revision: plan.revision,
      puts: plan.puts.map((r) => ({ path: relativePathOf(keyOf(r)), text: toYaml([r]) })),
      removes: plan.removes.map((r) => relativePathOf(keyOf(r))),
    };
    this.#settle();
    // Until the journal is durable nothing has changed: a failure here refuses the change.
    this.#io('write', this.#path('journal.json'), () => this.#fs.writeFile(this.#path('journal.json'), JSON.stringify(journal), 0o600));
    try {
      this.#replay(journal);
    } catch (err) {
      // The journal decides: the change is in force, and its files are written again first thing.
      this.#pending = journal;
      this.#log('config.store_write_pending', { revision: journal.revision, reason: describeError(err) });
    }
  }

  /** Writes the files of a journal; repeating it is harmless. */
  #replay(journal: Journal): void {
    for (const { path, text } of journal.puts) {
      this.#fs.writeFile(join(this.dir, '.committed', path), text, 0o600);
      this.#fs.writeFile(join(this.dir, 'resources', path), text, 0o600);
      this.#known.set(path, sha256(text));
      this.#reported.delete(path);
    }
    for (const path of journal.removes) {
      this.#fs.remove(join(this.dir, '.committed', path));
      this.#fs.remove(join(this.dir, 'resources', path));
      this.#known.delete(path);
      this.#reported.delete(path);
    }
    this.#fs.writeFile(this.#path('state.json'), `${JSON.stringify({ revision: journal.revision })}\n`, 0o600);
    this.#fs.remove(this.#path('journal.json'));
  }

  /** Finishes a change whose files could not all be written; throws while that still fails. */
  #settle(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#io('write', this.#path('journal.json'), () => this.#replay(pending));
    this.#pending = undefined;
    this.#log('config.store_write_completed', { revision: pending.revision });
  }

  // === open ===

  #recover(): void {
    mkdirSync(join(this.dir, 'resources'), { recursive: true, mode: 0o700 });
    mkdirSync(join(this.dir, '.committed'), { recursive: true, mode: 0o700 });
    const file = this.#path('journal.json');
    const text = this.#readIfPresent(file);
    if (text === undefined) return;
    let journal: Journal;
    try {
      journal = JSON.parse(text) as Journal;
    } catch (err) {
      throw new StoreError('WEFT_STORE_CORRUPT', `${file} is not a complete journal (${(err as Error).message}); it is written by one atomic rename, so this file was changed by hand`, { cause: err });
    }
    this.#replay(journal);
  }

  #load(): void {
    let revision = 0;
    const state = this.#readIfPresent(this.#path('state.json'));
    try {
      if (state !== undefined) revision = (JSON.parse(state) as { revision: number }).revision;
    } catch {
      // A state file that was lost or cut short: the resources' own versions tell.
    }
    const committed = join(this.dir, '.committed');
    for (const path of this.#io('list', committed, () => yamlFilesUnder(committed, this.#fs))) {
      const text = this.#io('read', join(committed, path), () => this.#fs.readFile(join(committed, path)));
      let resource: StoredResource | undefined;
      try {
        [resource] = decodeStoredResources([text], join(committed, path));
      } catch (err) {
        throw new StoreError('WEFT_STORE_CORRUPT', `${join(committed, path)} no longer validates (${(err as Error).message}); files under .committed are written only by the store`, { cause: err });
      }
      this.state.items.set(keyOf(resource!), resource!);
      this.#known.set(path, sha256(text));
      revision = Math.max(revision, Number(resource!.metadata.resourceVersion) || 0);
    }
    this.state.revision = revision;
  }

  // === hand edits ===

  #startWatching(rescanMs: number): void {
    const trigger = () => {
      if (this.#scanQueued || this.#closed) return;
      this.#scanQueued = true;
      // Editors write in several steps (truncate, write, rename): look once they are done.
      setTimeout(() => {
        this.#scanQueued = false;
        this.#scanSafely();
      }, 50).unref();
    };
    try {
      this.#watcher = watch(join(this.dir, 'resources'), { recursive: true, persistent: false }, trigger);
      this.#watcher.on('error', () => undefined);
    } catch {
      // No recursive watch here: the periodic rescan alone picks edits up.
    }
    this.#timer = setInterval(trigger, rescanMs).unref();
  }

  /** A rescan from the watch or the timer: a failure is logged and retried with backoff, never thrown. */
  #scanSafely(): void {
    if (this.#closed || this.#retry !== undefined) return;
    try {
      this.#scan();
      if (this.#failures > 0) this.#log('config.rescan_recovered', { failures: this.#failures });
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      const cap = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.#failures - 1));
      const delay = Math.ceil(cap / 2) + randomInt(0, Math.ceil(cap / 2) + 1);
      this.#log('config.rescan_failed', { reason: describeError(err), attempt: this.#failures, retryInMs: delay });
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#scanSafely();
      }, delay).unref();
    }
  }

  /**
   * Reads every resource file first; only when all of them could be read does anything change.
   * A file is gone only when the filesystem says ENOENT.
   */
  #scan(): void {
    this.#settle();
    const { present, changed } = this.#readResources();
    const events: StoreEvent[] = [];
    try {
      for (const f of changed) {
        if (this.#known.get(f.path) !== f.hash && this.#reported.get(f.path) !== f.hash) events.push(...this.#handEdit(f.path, f.file, f.text, f.hash));
        this.#stat.set(f.path, f.stamp);
      }
      for (const [path] of this.#known) {
        if (present.has(path)) continue;
        this.#stat.delete(path);
        const resource = [...this.state.items.values()].find((r) => relativePathOf(keyOf(r)) === path);
        if (resource === undefined) continue;
        const plan = this.state.planDelete([keyOf(resource)]);
        this.persist(plan);
        this.state.commit(plan);
        events.push(...planEvents(plan, 'file'));
      }
    } finally {
      this.listeners.emit(events);
    }
  }

  /** The resource files present, and the content of those whose size or mtime changed. */
  #readResources(): { present: Set<string>; changed: ReadFile[] } {
    const root = join(this.dir, 'resources');
    // A missing resources/ is a broken data directory (unmounted, moved), not "every file deleted".
    this.#io('list', root, () => this.#fs.stat(root));
    const present = new Set(this.#io('list', root, () => yamlFilesUnder(root, this.#fs)));
    const changed: ReadFile[] = [];
    for (const path of [...present]) {
      const file = join(root, path);
      let stamp: string;
      let text: string;
      try {
        const st = this.#fs.stat(file);
        stamp = `${st.mtimeMs}:${st.size}`;
        if (this.#stat.get(path) === stamp) continue;
        text = this.#fs.readFile(file);
      } catch (err) {
        if (!isGone(err)) throw ioError('read', file, err);
        present.delete(path);
        continue;
      }
      changed.push({ path, file, stamp, text, hash: sha256(text) });
    }
    return { present, changed };
  }

  #handEdit(path: string, file: string, text: string, hash: string): StoreEvent[] {
    const invalid = (issues: readonly Issue[], key?: string): StoreEvent[] => {
      this.#reported.set(path, hash);
      return [{ type: 'invalid', file, issues, revision: this.state.revision, ...(key === undefined ? {} : { key }) }];
    };
    const parsed = parseResources(text, file);
    if (!parsed.ok) return invalid(parsed.issues);
    if (parsed.value.length !== 1) {
      return invalid([{ file, line: 1, column: 1, path: '', message: `a resource file holds exactly one resource; this one holds ${parsed.value.length}`, code: 'WEFT_CONFIG_INVALID_VALUE' }]);
    }
    const resource = parsed.value[0]!;
    const k = keyOf(resource);
    if (relativePathOf(k) !== path) {
      return invalid([{ file, line: 1, column: 1, path: 'metadata', message: `this file holds ${k}, whose file is resources/${relativePathOf(k)}`, code: 'WEFT_CONFIG_INVALID_VALUE' }], k);
    }
    const current = this.state.items.get(k);
    if (current !== undefined && isDeepStrictEqual(withoutServerMetadata(current), withoutServerMetadata(resource))) {
      this.#known.set(path, hash);
      this.#reported.delete(path);
      return [];
    }
    const plan = this.state.planApply([resource]);
    this.persist(plan);
    this.state.commit(plan);
    return planEvents(plan, 'file');
  }

  // === lock ===

  #lock(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.#path('store.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      if (tryCreatePidFile(file)) return;
      if (!pidFileOwnerIsGone(file)) break;
      rmSync(file, { force: true });
    }
    throw new StoreError('WEFT_STORE_LOCKED', `the configuration store ${this.dir} is in use by process ${pidFileOwner(file) ?? '?'} (${file}); one control plane per data directory`);
  }

  #unlock(): void {
    const file = this.#path('store.lock');
    if (pidFileOwner(file) === process.pid) rmSync(file, { force: true });
  }

  #path(name: string): string {
    return join(this.dir, name);
  }

  #readIfPresent(file: string): string | undefined {
    try {
      return this.#fs.readFile(file);
    } catch (err) {
      if (isGone(err)) return undefined;
      throw ioError('read', file, err);
    }
  }

  /** Runs a file operation; any error becomes WEFT_STORE_IO naming the operation and the path. */
  #io<T>(op: 'list' | 'read' | 'write', path: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw ioError(op, path, err);
    }
  }

  #log(event: string, fields: Record<string, unknown>): void {
    this.#logFn?.(event, { dir: this.dir, ...fields });
  }
}

function ioError(op: 'list' | 'read' | 'write', path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? describeError(err);
  return new StoreError('WEFT_STORE_IO', `cannot ${op} ${path} (${code}); nothing was changed, and the store tries again`, { cause: err });
}
