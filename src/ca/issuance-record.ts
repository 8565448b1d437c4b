// <data-dir>/ca/issued.log: one JSON line per SVID the CA issued and that has not expired yet,
// with its lineage. It answers two questions the certificate itself cannot: may this serial be
// renewed (only the lineage of a join-token registration, or of a `weft ca mint --renewable`), and
// which serials of an identity are still alive (what `weft ca revoke --spiffe-id` must revoke).
// Appending keeps an issuance cheap; expired lines are dropped by a compaction at open.
//
// Several processes share the file: the control plane renews, `weft ca mint` mints. Each reads
// what others appended when it meets a serial it does not know (new bytes from where it stopped;
// everything again when the file shrank, i.e. was compacted). A compaction re-reads the file just
// before it replaces it; a line appended in that instant is lost, and its serial then fails safe:
// it does not renew.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { writeFileAtomic } from '../lib/files.js';

/** How an SVID's lineage began; renewals inherit it from the certificate they renew. */
export type IssuanceOrigin = 'join-token' | 'mint' | 'mint-renewable';

export interface Issuance {
  readonly serial: string;
  readonly spiffeId: string;
  /** Clock ms. */
  readonly notAfter: number;
  readonly origin: IssuanceOrigin;
  /** The join token the lineage began with. */
  readonly tokenId?: string;
  /** A renewable mint's lineage never renews for longer than the lifetime it was minted with. */
  readonly ttlCapMs?: number;
}

/** Renewals only continue a lineage that began with a registration or an explicit --renewable. */
export function isRenewable(i: Issuance): boolean {
  return i.origin === 'join-token' || i.origin === 'mint-renewable';
}

export class IssuanceRecord {
  readonly path: string;
  readonly #bySerial = new Map<string, Issuance>();
  readonly #now: () => number;
  /** Bytes of the file already read, and which file (a compaction replaces it). */
  #offset = 0;
  #ino = -1;

  /**
   * Loads the record, dropping expired lines (and rewriting the file when it dropped any). A data
   * directory without one is seeded once from the audit log, so SVIDs issued before the record
   * existed keep renewing exactly when their lineage allows it.
   */
  constructor(path: string, auditLog: string, now: () => number) {
    this.path = path;
    this.#now = now;
    if (!existsSync(path)) {
      for (const i of lineageFromAudit(auditLog)) this.#bySerial.set(i.serial, i);
      this.#compact();
      return;
    }
    this.#sync();
    if ([...this.#bySerial.values()].some((i) => i.notAfter <= now())) this.#compact();
  }

  get(serial: string): Issuance | undefined {
    let i = this.#bySerial.get(serial);
    if (i === undefined) {
      this.#sync();
      i = this.#bySerial.get(serial);
    }
    return i !== undefined && i.notAfter > this.#now() ? i : undefined;
  }

  /** Every unexpired issuance to `spiffeId`. */
  aliveFor(spiffeId: string): Issuance[] {
    this.#sync();
    const t = this.#now();
    return [...this.#bySerial.values()].filter((i) => i.spiffeId === spiffeId && i.notAfter > t);
  }

  add(i: Issuance): void {
    this.#bySerial.set(i.serial, i);
    appendFileSync(this.path, `${JSON.stringify(i)}\n`, { mode: 0o600 });
    // Expired entries are dead weight on the issuance path: compact once they are the majority.
    if (this.#bySerial.size > 1024 && this.#bySerial.size % 1024 === 0) this.#compact();
  }

  #compact(): void {
    this.#sync();
    const t = this.#now();
    for (const [serial, i] of this.#bySerial) if (i.notAfter <= t) this.#bySerial.delete(serial);
    const text = [...this.#bySerial.values()].map((i) => `${JSON.stringify(i)}\n`).join('');
    writeFileAtomic(this.path, text, 0o600);
    // Read again from the start next time: the new file's inode is not known here.
    this.#offset = 0;
    this.#ino = -1;
  }

  /** Reads what was appended since the last read (all of it again after a compaction elsewhere). */
  #sync(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return;
    }
    try {
      const st = fstatSync(fd);
      const size = st.size;
      if (st.ino !== this.#ino || size < this.#offset) this.#offset = 0;
      this.#ino = st.ino;
      if (size === this.#offset) return;
      const buf = Buffer.alloc(size - this.#offset);
      const n = readSync(fd, buf, 0, buf.length, this.#offset);
      // Only whole lines: one being appended right now is read next time.
      const end = buf.subarray(0, n).lastIndexOf(0x0a) + 1;
      for (const i of parseLines(buf.subarray(0, end).toString('utf8'))) this.#bySerial.set(i.serial, i);
      this.#offset += end;
    } finally {
      closeSync(fd);
    }
  }
}

function parseLines(text: string): Issuance[] {
  const out: Issuance[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as Partial<Issuance>;
      // A torn last line (a crash mid-append) is skipped: its serial then simply does not renew.
      if (typeof v.serial === 'string' && typeof v.spiffeId === 'string' && typeof v.notAfter === 'number' && (v.origin === 'join-token' || v.origin === 'mint' || v.origin === 'mint-renewable')) {
        out.push(v as Issuance);
      }
    } catch {
      /* skipped, as above */
    }
  }
  return out;
}

/**
 * The lineage of every issuance in the audit log, in order: a join token starts a renewable
 * lineage, an operator's mint a non-renewable one, and a renewal (credential: the SVID it renewed)
 * inherits the lineage of that SVID. Anything unknown is not renewable.
 */
function lineageFromAudit(auditLog: string): Issuance[] {
  if (!existsSync(auditLog)) return [];
  const bySerial = new Map<string, Issuance>();
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes('"svid.issued"')) continue;
    let e: { event?: string; serial?: string; spiffeId?: string; notAfter?: string; credential?: { kind?: string; tokenId?: string; serial?: string } };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (e.event !== 'svid.issued' || typeof e.serial !== 'string' || typeof e.spiffeId !== 'string') continue;
    const notAfter = Date.parse(e.notAfter ?? '');
    if (!Number.isFinite(notAfter)) continue;
    const c = e.credential ?? {};
    const parent = c.kind === 'svid' && typeof c.serial === 'string' ? bySerial.get(c.serial) : undefined;
    const origin: IssuanceOrigin = c.kind === 'join-token' ? 'join-token' : (parent?.origin ?? 'mint');
    const tokenId = c.kind === 'join-token' ? c.tokenId : parent?.tokenId;
    bySerial.set(e.serial, { serial: e.serial, spiffeId: e.spiffeId, notAfter, origin, ...(tokenId ? { tokenId } : {}) });
  }
  return [...bySerial.values()];
}
