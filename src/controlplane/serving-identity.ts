import type { CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../lib/clock.js';
import { controlPlaneSpiffeId } from '../api/control-plane-api.js';

const SERVING_TTL_MS = 24 * 3_600_000;

/**
 * The control plane's own serving certificate, minted by its CA and renewed at half its lifetime,
 * handed to its TLS listeners (the gRPC front, the admin API) so a renewal never restarts them. The chain it
 * serves ends with the root: a sidecar on first contact has only the root's fingerprint from its
 * join token and finds the root to pin in this chain.
 */
export class ServingIdentity {
  readonly #ca: CertificateAuthority;
  readonly #clock: Clock;
  #cert!: Buffer;
  #key!: Buffer;
  #timer: NodeJS.Timeout | undefined;
  readonly #renewListeners = new Set<(credentials: { cert: Buffer; key: Buffer }) => void>();

  constructor(ca: CertificateAuthority, clock: Clock) {
    this.#ca = ca;
    this.#clock = clock;
    this.renew();
  }

  /** Mints a fresh serving certificate and hands it to every listener. */
  renew(): void {
    const svid = this.#ca.mint(controlPlaneSpiffeId(this.#ca.trustDomain), {
      ttlMs: SERVING_TTL_MS,
      credential: { kind: 'operator', name: 'control-plane serving certificate' },
      privileged: true,
    });
    this.#cert = Buffer.from([svid.leafPem, ...svid.chainPem, this.#ca.bundlePem()].join(''));
    this.#key = Buffer.from(svid.keyPem);
    for (const l of this.#renewListeners) l(this.credentials);
    clearTimeout(this.#timer);
    const lifetime = svid.notAfter.getTime() - this.#clock.now();
    this.#timer = setTimeout(() => this.renew(), Math.max(60_000, lifetime / 2)).unref();
  }

  /** The current certificate chain (leaf to root) and key, PEM, for a node:tls server. */
  get credentials(): { cert: Buffer; key: Buffer } {
    return { cert: this.#cert, key: this.#key };
  }

  /** Calls `listener` with the new credentials after every renewal. */
  onRenew(listener: (credentials: { cert: Buffer; key: Buffer }) => void): void {
    this.#renewListeners.add(listener);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
