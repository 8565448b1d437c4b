// Implements X509-SVID §5 for the certificates a TLS peer presented, once per connection. OpenSSL
// has already built the chain against our trust domain's bundle during the handshake; weft's own
// validator (identity/x509-svid.ts) then applies the SPIFFE rules OpenSSL knows nothing about:
// exactly one URI SAN, a SPIFFE ID of our trust domain with a path, a leaf that is no CA and has
// the right key usages, signing certificates that are CAs without a SPIFFE ID path. Last, the
// leaf's serial must not be on the revocation list of the latest snapshot.
import { createHash } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { bundleFromPem, verifyX509Svid, type TrustBundle } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { ProxyError } from './errors.js';
import type { SidecarIdentity } from './types.js';

/** Who is at the other end of an mTLS connection. */
export interface PeerIdentity {
  readonly spiffeId: string;
  /** Lowercase hex SHA-256 of the peer leaf's DER (Envoy's XFCC `Hash`). */
  readonly certHash: string;
  /** The leaf's serial, lowercase hex: what a revocation names. */
  readonly serial: string;
}

/** The revoked serials in force (proxy/revocations.ts). */
export interface RevokedSerials {
  has(serial: string): boolean;
}

/** Longest chain read from a peer (leaf included); longer ones fail validation anyway. */
const MAX_CHAIN = 10;

// === PeerVerifier ===

/** Verifies peers against the bundle of the current identity; swapped on rotation. */
export class PeerVerifier {
  readonly #clock: Clock;
  readonly #revoked: RevokedSerials | undefined;
  #bundle: TrustBundle;

  /** @throws TrustBundleError when `identity.bundlePem` holds no usable CA certificate. */
  constructor(identity: SidecarIdentity, clock: Clock, revoked?: RevokedSerials) {
    this.#clock = clock;
    this.#revoked = revoked;
    this.#bundle = bundleFromPem(identity.trustDomain, identity.bundlePem);
  }

  /** @throws TrustBundleError as the constructor. */
  update(identity: SidecarIdentity): void {
    this.#bundle = bundleFromPem(identity.trustDomain, identity.bundlePem);
  }

  /**
   * The verified identity of the client of an inbound TLS connection.
   *
   * @throws ProxyError `WEFT_PROXY_PEER_REFUSED`, `fields.stage` 'chain' (no certificate, or OpenSSL
   *   did not verify it against the bundle) or 'svid' (the SPIFFE rules), the message saying why.
   */
  verifyClient(socket: TLSSocket): PeerIdentity {
    const cert = socket.getPeerCertificate(true);
    if (cert === null || cert.raw === undefined) throw new ProxyError('WEFT_PROXY_PEER_REFUSED', 'peer presented no certificate', { fields: { stage: 'chain' } });
    if (!socket.authorized) {
      const code = String(socket.authorizationError ?? 'UNKNOWN');
      throw new ProxyError('WEFT_PROXY_PEER_REFUSED', 'peer certificate does not chain to the trust bundle', {
        message: `peer certificate refused: ${code} (${describeSubject(cert)})`,
        fields: { stage: 'chain', verifyError: code },
      });
    }
    return this.verifyChain(cert);
  }

  /**
   * The verified identity of the holder of `cert` (a detailed peer certificate, as tls hands to
   * checkServerIdentity), whose chain OpenSSL has verified.
   *
   * @throws ProxyError `WEFT_PROXY_PEER_REFUSED` with `fields.stage` 'svid' and the SvidError as
   *   cause, or 'revoked' (reason `certificate revoked`) for a serial on the revocation list.
   */
  verifyChain(cert: PeerCertificate | DetailedPeerCertificate): PeerIdentity {
    const chain = chainOf(cert);
    let info;
    try {
      info = verifyX509Svid(chain, this.#bundle, { clock: this.#clock });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'WEFT_SVID_MALFORMED';
      throw new ProxyError('WEFT_PROXY_PEER_REFUSED', 'peer certificate is not an X.509-SVID of this trust domain', {
        message: `peer certificate refused: ${(err as Error).message} (${code})`,
        cause: err,
        fields: { stage: 'svid', svidError: code },
      });
    }
    if (this.#revoked?.has(info.serial) === true) {
      throw new ProxyError('WEFT_PROXY_PEER_REFUSED', 'peer certificate revoked', {
        message: `peer certificate refused: certificate revoked (serial ${info.serial}, ${info.spiffeId.text})`,
        fields: { stage: 'revoked', serial: info.serial, peer: info.spiffeId.text },
      });
    }
    return { spiffeId: info.spiffeId.text, certHash: createHash('sha256').update(chain[0]!).digest('hex'), serial: info.serial };
  }
}

/** DER of the leaf and the certificates OpenSSL chained it with (a root, if any, is skipped by the validator). */
function chainOf(cert: PeerCertificate | DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [cert.raw];
  let c = (cert as DetailedPeerCertificate).issuerCertificate;
  let prev: PeerCertificate = cert;
  while (c !== undefined && c !== prev && out.length < MAX_CHAIN && c.raw !== undefined) {
    if (c.raw.equals(prev.raw)) break; // a self-signed root points at itself
    out.push(c.raw);
    prev = c;
    c = c.issuerCertificate;
  }
  return out;
}

function describeSubject(cert: PeerCertificate): string {
  const s = cert.subject as unknown as Record<string, string | string[]> | undefined;
  if (!s) return 'no subject';
  return Object.entries(s)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}
