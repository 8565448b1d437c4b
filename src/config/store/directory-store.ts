// The directory store, the control plane's default: one YAML file per resource that an operator
// may also edit by hand. Durability and atomicity come from a journal: a change is first written
// whole to journal.json (one atomic rename), then applied file by file, then the journal is
// removed. A process killed at any point leaves either no journal (the old state, or the new one
// fully applied) or a complete journal that the next open replays; never a mix.
//
// resources/  the hand-editable files; .committed/  the last good version of each, written only
// by the store (a bad hand edit is reported and the committed version stays in force, across
// restarts too); state.json  the revision; store.lock  the owning process.
import { isDeepStrictEqual } from 'node:util';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.js';
import { writeFileAtomic } from '../../lib/files.js';
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

  private constructor(dir: string, clock: Clock) {
    super({ clock });
    this.dir = dir;
  }

  /** Opens (creating if needed) the store in `dir`, recovering from an interrupted change. */
  static async open(dir: string, opts: DirectoryStoreOptions = {}): Promise<DirectoryConfigStore> {
    const store = new DirectoryConfigStore(dir, opts.clock ?? systemClock);
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
    await super.close();
    this.#unlock();
  }

  /** Picks up hand edits now (tests call it instead of waiting for the watch). */
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
    writeFileAtomic(this.#path('journal.json'), JSON.stringify(journal), 0o600);
    this.#replay(journal);
  }

  #replay(journal: Journal): void {
    for (const { path, text } of journal.puts) {
      writeFileAtomic(join(this.dir, '.committed', path), text, 0o600);
      writeFileAtomic(join(this.dir, 'resources', path), text, 0o600);
      this.#known.set(path, sha256(text));
      this.#reported.delete(path);
    }
    for (const path of journal.removes) {
      rmSync(join(this.dir, '.committed', path), { force: true });
      rmSync(join(this.dir, 'resources', path), { force: true });
      this.#known.delete(path);
      this.#reported.delete(path);
    }
    writeFileAtomic(this.#path('state.json'), `${JSON.stringify({ revision: journal.revision })}\n`, 0o600);
    rmSync(this.#path('journal.json'), { force: true });
  }

  // === open ===

  #recover(): void {
    mkdirSync(join(this.dir, 'resources'), { recursive: true, mode: 0o700 });
    mkdirSync(join(this.dir, '.committed'), { recursive: true, mode: 0o700 });
    const file = this.#path('journal.json');
    if (!existsSync(file)) return;
    let journal: Journal;
    try {
      journal = JSON.parse(readFileSync(file, 'utf8')) as Journal;
    } catch (err) {
      throw new StoreError('WEFT_STORE_CORRUPT', `${file} is not a complete journal (${(err as Error).message}); it is written by one atomic rename, so this file was changed by hand`, { cause: err });
    }
    this.#replay(journal);
  }

  #load(): void {
    let revision = 0;
    try {
      revision = (JSON.parse(readFileSync(this.#path('state.json'), 'utf8')) as { revision: number }).revision;
    } catch {
      // A new store, or one whose state file was lost: the resources' own versions tell.
    }
    const committed = join(this.dir, '.committed');
    for (const path of yamlFilesUnder(committed)) {
      const text = readFileSync(join(committed, path), 'utf8');
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
        if (!this.#closed) this.#scan();
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

  #scan(): void {
    const root = join(this.dir, 'resources');
    const present = new Set(yamlFilesUnder(root));
    const events: StoreEvent[] = [];
    for (const path of present) {
      const file = join(root, path);
      let stamp: string;
      try {
        const st = statSync(file);
        stamp = `${st.mtimeMs}:${st.size}`;
      } catch {
        continue;
      }
      if (this.#stat.get(path) === stamp) continue;
      this.#stat.set(path, stamp);
      const text = readFileSync(file, 'utf8');
      const hash = sha256(text);
      if (this.#known.get(path) === hash || this.#reported.get(path) === hash) continue;
      events.push(...this.#handEdit(path, file, text, hash));
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
    this.listeners.emit(events);
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
}
