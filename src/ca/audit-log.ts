import { appendFileSync } from 'node:fs';

/** Who asked for a certificate: a join token, a workload's current SVID, or an operator command. */
export type CaCredential =
  | { kind: 'join-token'; tokenId: string }
  | { kind: 'svid'; spiffeId: string; serial: string }
  | { kind: 'operator'; name: string };

export interface AuditEntry {
  event: 'svid.issued' | 'svid.refused' | 'ca.created';
  spiffeId?: string;
  serial?: string;
  notAfter?: string;
  keyType?: string;
  credential?: CaCredential;
  code?: string;
  reason?: string;
  [field: string]: unknown;
}

/**
 * The CA's audit log: one JSON line per issuance, refusal or CA creation, appended to
 * <data-dir>/audit.log (mode 0600). It never holds key material or token text.
 */
export class AuditLog {
  readonly path: string;
  readonly #now: () => number;

  constructor(path: string, now: () => number) {
    this.path = path;
    this.#now = now;
  }

  append(entry: AuditEntry): void {
    appendFileSync(this.path, `${JSON.stringify({ time: new Date(this.#now()).toISOString(), ...entry })}\n`, { mode: 0o600 });
  }
}
