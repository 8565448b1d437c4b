// tokens.json: one record per join token (id and metadata, never the token text), mode 0600,
// replaced atomically on every change. Times are ISO 8601 on disk and epoch milliseconds in memory.
import { readFileSync, statSync } from 'node:fs';
import { writeSecretFile } from '../lib/files.js';
import { JoinTokenStoreError } from './errors.js';

/** One token as the store keeps it. */
export interface StoredJoinToken {
  readonly id: string;
  readonly spiffeId: string;
  readonly caFingerprint: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly once: boolean;
  usedAt?: number;
  revokedAt?: number;
}

const FILE_VERSION = 1;

/**
 * The store file at `path` with an in-memory copy that is re-read only when the file changed (new
 * inode, mtime or size: every write is a rename, so another process's write is always seen).
 */
export class TokenFile {
  readonly path: string;
  #tokens: Map<string, StoredJoinToken> = new Map();
  #stamp = '';

  constructor(path: string) {
    this.path = path;
  }

  /**
   * The records on disk now, from memory when the file has not changed. Callers must not modify
   * them; use `fresh()` under the lock for that.
   *
   * @throws JoinTokenStoreError `WEFT_TOKEN_STORE_CORRUPT`
   */
  current(): ReadonlyMap<string, Readonly<StoredJoinToken>> {
    const stamp = this.#statStamp();
    if (stamp !== this.#stamp) {
      this.#tokens = stamp === '' ? new Map() : this.#read();
      this.#stamp = stamp;
    }
    return this.#tokens;
  }

  /** A private copy of the records as they are on disk, to change and `write()` under the lock. */
  fresh(): Map<string, StoredJoinToken> {
    this.#stamp = '\0'; // force a re-read even if a same-size write landed within the mtime tick
    return new Map([...this.current()].map(([id, t]) => [id, { ...t }]));
  }

  /** Replaces the file (0600, atomic, fsynced) and the in-memory copy. */
  write(tokens: Map<string, StoredJoinToken>): void {
    const doc = { version: FILE_VERSION, tokens: [...tokens.values()].map(serialize) };
    writeSecretFile(this.path, `${JSON.stringify(doc, null, 2)}\n`);
    this.#tokens = tokens;
    this.#stamp = this.#statStamp();
  }

  #statStamp(): string {
    const st = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    return st === undefined ? '' : `${st.ino}:${st.mtimeNs}:${st.size}`;
  }

  #read(): Map<string, StoredJoinToken> {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw this.#corrupt('not JSON', err);
    }
    if (!isObject(doc) || doc.version !== FILE_VERSION || !Array.isArray(doc.tokens)) {
      throw this.#corrupt(`expected {"version": ${FILE_VERSION}, "tokens": [...]}`);
    }
    const tokens = new Map<string, StoredJoinToken>();
    doc.tokens.forEach((entry: unknown, i: number) => {
      const token = deserialize(entry);
      if (typeof token === 'string') throw this.#corrupt(`tokens[${i}]: ${token}`);
      if (tokens.has(token.id)) throw this.#corrupt(`tokens[${i}]: id ${token.id} appears twice`);
      tokens.set(token.id, token);
    });
    return tokens;
  }

  #corrupt(detail: string, cause?: unknown): JoinTokenStoreError {
    return new JoinTokenStoreError('WEFT_TOKEN_STORE_CORRUPT', `the token store ${this.path} is corrupt: ${detail}`, { cause, path: this.path });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The on-disk (and listed) form of a record: times as ISO text. */
export function serialize(t: StoredJoinToken): Record<string, unknown> {
  return {
    id: t.id,
    spiffeId: t.spiffeId,
    caFingerprint: t.caFingerprint,
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
    once: t.once,
    ...(t.usedAt === undefined ? {} : { usedAt: iso(t.usedAt) }),
    ...(t.revokedAt === undefined ? {} : { revokedAt: iso(t.revokedAt) }),
  };
}

/** The record, or a sentence saying which field is wrong. */
function deserialize(entry: unknown): StoredJoinToken | string {
  if (!isObject(entry)) return 'not an object';
  for (const field of ['id', 'spiffeId', 'caFingerprint'] as const) {
    if (typeof entry[field] !== 'string') return `${field} must be a string`;
  }
  if (typeof entry.once !== 'boolean') return 'once must be a boolean';
  const times: Record<string, number | undefined> = {};
  for (const field of ['createdAt', 'expiresAt', 'usedAt', 'revokedAt'] as const) {
    const value = entry[field];
    const optional = field === 'usedAt' || field === 'revokedAt';
    if (value === undefined && optional) continue;
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) return `${field} must be an ISO 8601 time`;
    times[field] = ms;
  }
  return {
    id: entry.id as string,
    spiffeId: entry.spiffeId as string,
    caFingerprint: entry.caFingerprint as string,
    createdAt: times.createdAt!,
    expiresAt: times.expiresAt!,
    once: entry.once,
    ...(times.usedAt === undefined ? {} : { usedAt: times.usedAt }),
    ...(times.revokedAt === undefined ? {} : { revokedAt: times.revokedAt }),
  };
}
