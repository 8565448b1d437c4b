// Who is calling the admin API. An admin SVID over mTLS (an identity MeshConfig lists in
// adminIdentities) or the admin token; anything else is 401, a valid identity that is not an
// admin is 403. The health endpoints need neither.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { AdminError } from './errors.js';
import type { AdminToken } from './token.js';

export type AdminPrincipal = { readonly kind: 'token' } | { readonly kind: 'svid'; readonly spiffeId: string };

export interface AdminAuthSources {
  readonly token: AdminToken;
  /** The SPIFFE ID of a verified X.509-SVID chain (leaf first, DER); throws if it is not one. */
  verifySvid(chain: readonly Buffer[]): string;
  /** SPIFFE IDs MeshConfig names as administrators. */
  adminIdentities(): readonly string[];
}

export function principalName(p: AdminPrincipal): string {
  return p.kind === 'token' ? 'admin-token' : p.spiffeId;
}

export function authenticate(req: IncomingMessage, sources: AdminAuthSources): AdminPrincipal {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true) {
    throw new AdminError('WEFT_ADMIN_TLS_REQUIRED', 'the admin API is served over TLS only (https://); plain HTTP carries only /healthz and /healthz/ready');
  }
  const chain = peerChain(socket as TLSSocket);
  if (chain.length > 0) {
    let spiffeId: string;
    try {
      spiffeId = sources.verifySvid(chain);
    } catch (err) {
      throw new AdminError('WEFT_ADMIN_UNAUTHENTICATED', `client certificate refused: ${(err as Error).message}`, { cause: err });
    }
    if (!sources.adminIdentities().includes(spiffeId)) {
      throw new AdminError('WEFT_ADMIN_FORBIDDEN', `${spiffeId} is not an admin identity (MeshConfig spec.adminIdentities)`);
    }
    return { kind: 'svid', spiffeId };
  }
  const header = req.headers.authorization;
  if (header === undefined) throw new AdminError('WEFT_ADMIN_UNAUTHENTICATED', 'no credentials: present an admin SVID or the admin token (Authorization: Bearer)');
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m || !sources.token.matches(m[1]!)) throw new AdminError('WEFT_ADMIN_UNAUTHENTICATED', 'the admin token is not valid');
  return { kind: 'token' };
}

/** The client's certificate chain as sent (leaf first), DER; empty when it sent none. */
function peerChain(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let cert = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(cert.raw);
    if (cert.issuerCertificate === cert) break;
    cert = cert.issuerCertificate;
  }
  return out;
}
