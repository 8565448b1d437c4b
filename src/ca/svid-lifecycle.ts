// What the CA remembers of the SVIDs it issued, between issuance and expiry: their lineage (may a
// serial be renewed, and for how long at most) and the revocation list. Renewal rules:
//   - a join token starts a renewable lineage; each renewal continues it;
//   - `weft ca mint` starts a lineage that never renews (SPIRE's mint behaves the same way),
//     unless minted with --renewable, whose renewals are capped at the lifetime it was minted with;
//   - a serial the record does not know (issued by another CA, or its record lost) never renews;
//   - a revoked serial never renews, whatever its lineage.
import { join } from 'node:path';
import { describeCredential, type CaCredential } from './audit-log.js';
import { caDir } from './ca-state.js';
import { CaError } from './errors.js';
import { isRenewable, IssuanceRecord, type Issuance, type IssuanceOrigin } from './issuance-record.js';
import { RevocationList, type Revocation } from './revocation-list.js';

/** What a certificate about to be signed continues or starts. */
export interface Lineage {
  readonly origin: IssuanceOrigin;
  readonly tokenId?: string;
  readonly ttlCapMs?: number;
}

/** Lowercase hex, as weft prints serials (RFC 5280: at most 20 octets). */
const SERIAL = /^[0-9a-f]{1,40}$/;

export class SvidLifecycle {
  readonly issued: IssuanceRecord;
  readonly revoked: RevocationList;
  readonly #now: () => number;
  readonly #maxTtlMs: number;

  constructor(dataDir: string, now: () => number, maxTtlMs: number) {
    this.#now = now;
    this.#maxTtlMs = maxTtlMs;
    this.issued = new IssuanceRecord(join(caDir(dataDir), 'issued.log'), join(dataDir, 'audit.log'), now);
    this.revoked = new RevocationList(join(caDir(dataDir), 'revoked.json'), now);
  }

  /**
   * The lineage a new certificate for `credential` belongs to.
   *
   * @throws CaError WEFT_CA_CERT_REVOKED (the presented SVID is revoked) or WEFT_CA_RENEWAL_REFUSED
   *   (it comes from a mint without --renewable, or the CA has no record of it).
   */
  lineageFor(credential: CaCredential): Lineage {
    if (credential.kind === 'join-token') return { origin: 'join-token', tokenId: credential.tokenId };
    if (credential.kind !== 'svid') return { origin: 'mint' };
    // Only the shape-checked form reaches a message: the fields are whatever the caller handed over.
    const shown = describeCredential(credential) as { spiffeId: string; serial: string };
    const serial = shown.serial;
    if (this.revoked.has(credential.serial)) {
      throw new CaError('WEFT_CA_CERT_REVOKED', `certificate revoked: serial ${serial} of ${shown.spiffeId} was revoked (weft ca revoke) and cannot be renewed; enrol the workload again with a new join token`);
    }
    const parent = this.issued.get(credential.serial);
    if (parent === undefined) {
      throw new CaError('WEFT_CA_RENEWAL_REFUSED', `renewal refused: this CA has no record of issuing serial ${serial} to a registration; only SVIDs of join-token registrations (or minted with --renewable) renew`);
    }
    if (!isRenewable(parent)) {
      throw new CaError('WEFT_CA_RENEWAL_REFUSED', `renewal refused: serial ${serial} was minted by \`weft ca mint\` without --renewable, so it expires at ${new Date(parent.notAfter).toISOString()}; mint a new one, or enrol the workload with a join token`);
    }
    return { origin: parent.origin, ...(parent.tokenId ? { tokenId: parent.tokenId } : {}), ...(parent.ttlCapMs ? { ttlCapMs: parent.ttlCapMs } : {}) };
  }

  record(serial: string, spiffeId: string, notAfter: Date, lineage: Lineage): void {
    this.issued.add({ serial, spiffeId, notAfter: notAfter.getTime(), ...lineage });
  }

  /**
   * Revokes the given serials, or every unexpired serial issued to `spiffeId`. A serial the CA has
   * no record of is still revoked (it may come from before the record), kept for the longest
   * lifetime a leaf can have.
   *
   * @returns the revocations made now and the join tokens of their lineages (for the caller to revoke).
   * @throws CaError WEFT_CA_REVOKE_INVALID for a malformed serial, or an identity with nothing to revoke.
   */
  revoke(target: { serials?: readonly string[]; spiffeId?: string }): { revoked: Revocation[]; already: string[]; tokenIds: string[] } {
    const now = this.#now();
    let wanted: Issuance[] | { serial: string; spiffeId?: string; notAfter: number }[];
    if (target.spiffeId !== undefined) {
      wanted = this.issued.aliveFor(target.spiffeId);
      if (wanted.length === 0) throw new CaError('WEFT_CA_REVOKE_INVALID', `no unexpired SVID of ${target.spiffeId} was issued by this CA: nothing to revoke`);
    } else {
      const serials = (target.serials ?? []).map((s) => s.toLowerCase().replace(/:/g, ''));
      const bad = serials.find((s) => !SERIAL.test(s));
      if (serials.length === 0 || bad !== undefined) throw new CaError('WEFT_CA_REVOKE_INVALID', `a serial is the certificate's serial number in hex (as weft ca mint and weft status print it)${bad === undefined ? '' : `, not ${JSON.stringify(bad.slice(0, 80))}`}`);
      wanted = serials.map((s) => this.issued.get(s) ?? { serial: s, notAfter: now + this.#maxTtlMs });
    }
    const already = wanted.filter((w) => this.revoked.has(w.serial)).map((w) => w.serial);
    const added = new Set(this.revoked.add(wanted.map((w) => ({ serial: w.serial, notAfter: w.notAfter, ...(w.spiffeId ? { spiffeId: w.spiffeId } : {}) }))));
    const revoked = this.revoked.entries().filter((e) => added.has(e.serial));
    const tokenIds = [...new Set(wanted.map((w) => (w as Issuance).tokenId).filter((t): t is string => t !== undefined))];
    return { revoked, already, tokenIds };
  }
}
