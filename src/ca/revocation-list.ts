// <data-dir>/ca/revoked.json: the serials the CA has revoked, pushed to every sidecar in each
// snapshot. It holds no secret (0644). Written whole and atomically on every change; an entry is
// dropped once its certificate would have expired anyway, so the list stays as short as the
// certificates it names live.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../lib/files.js';
import { CaError } from './errors.js';

export interface Revocation {
  readonly serial: string;
  readonly spiffeId?: string;
  /** Clock ms: when the certificate expires, and the entry with it. */
  readonly notAfter: number;
  readonly revokedAt: number;
}

export class RevocationList {
  readonly path: string;
  readonly #now: () => number;
  #entries = new Map<string, Revocation>();
  #version = 0;

  /** @throws CaError WEFT_CA_FILE_INVALID when the file is not a revocation list (never taken for "none revoked"). */
  constructor(path: string, now: () => number) {
    this.path = path;
    this.#now = now;
    if (!existsSync(path)) return;
    let parsed: { entries?: unknown };
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as { entries?: unknown };
    } catch (err) {
      throw new CaError('WEFT_CA_FILE_INVALID', `${path} is not valid JSON: fix or restore it (revocations must not be lost silently)`, { cause: err, file: path });
    }
    if (!Array.isArray(parsed.entries)) throw new CaError('WEFT_CA_FILE_INVALID', `${path} must hold "entries", a list of revoked serials`, { file: path });
    for (const e of parsed.entries as Partial<Revocation>[]) {
      if (typeof e?.serial !== 'string' || typeof e.notAfter !== 'number') throw new CaError('WEFT_CA_FILE_INVALID', `${path}: every entry needs "serial" and "notAfter"`, { file: path });
      this.#entries.set(e.serial, { serial: e.serial, notAfter: e.notAfter, revokedAt: e.revokedAt ?? 0, ...(e.spiffeId ? { spiffeId: e.spiffeId } : {}) });
    }
    if (this.#prune()) this.#write();
  }

  /** Changes whenever the list does (additions and prunes). */
  get version(): number {
    this.#pruneAndSave();
    return this.#version;
  }

  has(serial: string): boolean {
    const e = this.#entries.get(serial);
    return e !== undefined && e.notAfter > this.#now();
  }

  /** Unexpired revoked serials, sorted. */
  serials(): string[] {
    this.#pruneAndSave();
    return [...this.#entries.keys()].sort();
  }

  entries(): Revocation[] {
    this.#pruneAndSave();
    return [...this.#entries.values()];
  }

  /** Adds what is not there yet; returns the serials newly revoked. Written before it returns. */
  add(revocations: readonly Omit<Revocation, 'revokedAt'>[]): string[] {
    const now = this.#now();
    const added: string[] = [];
    for (const r of revocations) {
      if (this.#entries.has(r.serial) || r.notAfter <= now) continue;
      this.#entries.set(r.serial, { ...r, revokedAt: now });
      added.push(r.serial);
    }
    if (added.length > 0) {
      this.#prune();
      this.#write();
      this.#version++;
    }
    return added;
  }

  #pruneAndSave(): void {
    if (this.#prune()) {
      this.#write();
      this.#version++;
    }
  }

  #prune(): boolean {
    const now = this.#now();
    let dropped = false;
    for (const [serial, e] of this.#entries) {
      if (e.notAfter <= now) {
        this.#entries.delete(serial);
        dropped = true;
      }
    }
    return dropped;
  }

  #write(): void {
    const entries = [...this.#entries.values()].map((e) => ({ ...e, notAfterTime: new Date(e.notAfter).toISOString(), revokedAtTime: new Date(e.revokedAt).toISOString() }));
    writeFileAtomic(this.path, `${JSON.stringify({ entries }, null, 2)}\n`, 0o644);
  }
}
