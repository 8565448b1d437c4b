// <data-dir>/ca/issued.log: one JSON line per SVID the CA issued and that has not expired yet,
// with its lineage. It answers two questions the certificate itself cannot: may this serial be
// renewed (only the lineage of a join-token registration, or of a `weft ca mint --renewable`), and
// which serials of an identity are still alive (what `weft ca revoke --spiffe-id` must revoke).
// Appending keeps an issuance cheap; expired lines are dropped by a compaction at open.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
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

  /**
   * Loads the record, dropping expired lines (and rewriting the file when it dropped any). A data
   * directory without one is seeded once from the audit log, so SVIDs issued before the record
   * existed keep renewing exactly when their lineage allows it.
   */
  constructor(path: string, auditLog: string, now: () => number) {
    this.path = path;
    this.#now = now;
    const seeded = !existsSync(path);
    const lines = seeded ? lineageFromAudit(auditLog) : readLines(path);
    const t = now();
    let dropped = 0;
    for (const i of lines) {
      if (i.notAfter > t) this.#bySerial.set(i.serial, i);
      else dropped++;
    }
    if (seeded || dropped > 0) this.#rewrite();
  }

  get(serial: string): Issuance | undefined {
    const i = this.#bySerial.get(serial);
    return i !== undefined && i.notAfter > this.#now() ? i : undefined;
  }

  /** Every unexpired issuance to `spiffeId`. */
  aliveFor(spiffeId: string): Issuance[] {
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
    const t = this.#now();
    for (const [serial, i] of this.#bySerial) if (i.notAfter <= t) this.#bySerial.delete(serial);
    this.#rewrite();
  }

  #rewrite(): void {
    writeFileAtomic(this.path, [...this.#bySerial.values()].map((i) => `${JSON.stringify(i)}\n`).join(''), 0o600);
  }
}

function readLines(path: string): Issuance[] {
  const out: Issuance[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
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
