// `weft ca revoke`: the one operation behind the admin endpoint and the CLI's offline path. It
// revokes the serials (or every unexpired serial of an identity) in the CA's revocation list, and
// the join tokens their lineages began with, so a revoked workload can come back only with a new
// token. Every revocation is audited with who asked.
import type { JoinTokenStore } from '../attest/index.js';
import type { CertificateAuthority } from '../ca/index.js';
import { parseSpiffeId } from '../identity/index.js';
import { CaError } from '../ca/index.js';

export interface RevokeTarget {
  readonly serials?: readonly string[];
  readonly spiffeId?: string;
}

export interface RevokeResult {
  readonly revoked: { serial: string; spiffeId?: string; notAfter: string }[];
  /** Serials that were revoked already (nothing changed for them). */
  readonly alreadyRevoked: string[];
  readonly tokensRevoked: string[];
}

/** @throws CaError WEFT_CA_REVOKE_INVALID for a target that is neither, both, or malformed. */
export function revokeSvids(ca: CertificateAuthority, tokens: JoinTokenStore, target: RevokeTarget, by: string): RevokeResult {
  const hasSerials = target.serials !== undefined && target.serials.length > 0;
  if (hasSerials === (target.spiffeId !== undefined)) {
    throw new CaError('WEFT_CA_REVOKE_INVALID', 'name what to revoke: --serial S (one or more) or --spiffe-id ID, not both');
  }
  let spiffeId: string | undefined;
  if (target.spiffeId !== undefined) {
    try {
      spiffeId = parseSpiffeId(target.spiffeId).text;
    } catch (err) {
      throw new CaError('WEFT_CA_REVOKE_INVALID', `--spiffe-id is not a SPIFFE ID: ${(err as Error).message}`, { cause: err });
    }
  }
  const done = ca.lifecycle.revoke(spiffeId === undefined ? { serials: target.serials } : { spiffeId });
  const tokenIds = new Set(done.tokenIds);
  if (spiffeId !== undefined) for (const t of tokens.list()) if (t.spiffeId === spiffeId && t.state === 'active') tokenIds.add(t.id);
  const tokensRevoked: string[] = [];
  for (const id of tokenIds) {
    try {
      if (tokens.revoke(id).revokedAt !== undefined) tokensRevoked.push(id);
    } catch {
      // A token record that is gone (another data directory's token): nothing left to refuse.
    }
  }
  for (const r of done.revoked) {
    ca.audit.append({ event: 'svid.revoked', serial: r.serial, spiffeId: r.spiffeId, notAfter: new Date(r.notAfter).toISOString(), who: by });
  }
  if (tokensRevoked.length > 0) ca.audit.append({ event: 'token.revoked', tokens: tokensRevoked, who: by, reason: 'certificate revoked' });
  return {
    revoked: done.revoked.map((r) => ({ serial: r.serial, ...(r.spiffeId ? { spiffeId: r.spiffeId } : {}), notAfter: new Date(r.notAfter).toISOString() })),
    alreadyRevoked: done.already,
    tokensRevoked,
  };
}
