import { appendFileSync } from 'node:fs';
import { parseSpiffeId } from '../identity/index.js';

/** Who asked for a certificate: a join token, a workload's current SVID, or an operator command. */
export type CaCredential =
  | { kind: 'join-token'; tokenId: string }
  | { kind: 'svid'; spiffeId: string; serial: string }
  | { kind: 'operator'; name: string };

export interface AuditEntry {
  event: 'svid.issued' | 'svid.refused' | 'svid.revoked' | 'token.revoked' | 'ca.created';
  spiffeId?: string;
  serial?: string;
  notAfter?: string;
  keyType?: string;
  credential?: CaCredential;
  code?: string;
  reason?: string;
  [field: string]: unknown;
}

/** Written in place of a value that does not have the shape of a safe descriptor. */
export const REDACTED = '[redacted]';
/** A join token's id (its `jti`, 128 bits in base64url): never the token, which holds dots and is far longer. */
const TOKEN_ID = /^[A-Za-z0-9_-]{22}$/;
/** A certificate serial as weft prints it: lowercase hex (20 octets in RFC 5280; room for others' longer ones). */
const SERIAL = /^[0-9a-f]{1,64}$/;
/** An operator command's name: one short line of printable ASCII (no PEM, no token fits). */
const OPERATOR_NAME = /^[\x20-\x7e]{1,80}$/;

const keep = (value: unknown, pattern: RegExp): string => (typeof value === 'string' && pattern.test(value) ? value : REDACTED);

function spiffeIdOrRedacted(value: unknown): string {
  try {
    return typeof value === 'string' ? parseSpiffeId(value).text : REDACTED;
  } catch {
    return REDACTED;
  }
}

/**
 * The credential as the audit log may show it: rebuilt field by field from a whitelist, each value
 * checked for the shape of an identifier. Callers pass whatever object they hold (a verified token's
 * result, a peer's certificate facts); spreading it would let a secret they carry into the log.
 */
export function describeCredential(credential: CaCredential): CaCredential | { kind: 'unknown' } {
  const c = credential as Partial<Record<'kind' | 'tokenId' | 'spiffeId' | 'serial' | 'name', unknown>>;
  switch (c.kind) {
    case 'join-token':
      return { kind: 'join-token', tokenId: keep(c.tokenId, TOKEN_ID) };
    case 'svid':
      return { kind: 'svid', spiffeId: spiffeIdOrRedacted(c.spiffeId), serial: keep(c.serial, SERIAL) };
    case 'operator':
      return { kind: 'operator', name: keep(c.name, OPERATOR_NAME) };
    default:
      return { kind: 'unknown' };
  }
}

/**
 * The CA's audit log: one JSON line per issuance, refusal or CA creation, appended to
 * <data-dir>/audit.log (mode 0600). It never holds key material or token text: the credential is
 * always rewritten by {@link describeCredential}.
 */
export class AuditLog {
  readonly path: string;
  readonly #now: () => number;

  constructor(path: string, now: () => number) {
    this.path = path;
    this.#now = now;
  }

  append(entry: AuditEntry): void {
    const safe = entry.credential === undefined ? entry : { ...entry, credential: describeCredential(entry.credential) };
    appendFileSync(this.path, `${JSON.stringify({ time: new Date(this.#now()).toISOString(), ...safe })}\n`, { mode: 0o600 });
  }
}
