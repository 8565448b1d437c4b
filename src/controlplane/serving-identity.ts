import type { experimental } from '@grpc/grpc-js';
import type { CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../lib/clock.js';
import { controlPlaneSpiffeId } from '../api/control-plane-api.js';

type CertificateProvider = experimental.CertificateProvider;
type CaCertificateUpdateListener = experimental.CaCertificateUpdateListener;
type IdentityCertificateUpdateListener = experimental.IdentityCertificateUpdateListener;

const SERVING_TTL_MS = 24 * 3_600_000;

/**
 * The control plane's own serving certificate, minted by its CA and renewed at half its lifetime,
 * fed to grpc-js as a certificate provider so a renewal never restarts the server. The chain it
 * serves ends with the root: a sidecar on first contact has only the root's fingerprint from its
 * join token and finds the root to pin in this chain.
 */
export class ServingIdentity implements CertificateProvider {
  readonly #ca: CertificateAuthority;
  readonly #clock: Clock;
  readonly #caListeners = new Set<CaCertificateUpdateListener>();
  readonly #idListeners = new Set<IdentityCertificateUpdateListener>();
  #cert!: Buffer;
  #key!: Buffer;
  #timer: NodeJS.Timeout | undefined;
  readonly #renewListeners = new Set<(credentials: { cert: Buffer; key: Buffer }) => void>();

  constructor(ca: CertificateAuthority, clock: Clock) {
    this.delivered = new Promise((resolve) => (this.#markDelivered = resolve));
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
    for (const l of this.#idListeners) l({ certificate: this.#cert, privateKey: this.#key });
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

  addCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.#caListeners.add(listener);
    // grpc-js registers its watcher only after adding the listener: deliver on the next tick.
    setImmediate(() => listener({ caCertificate: Buffer.from(this.#ca.bundlePem()) }));
  }

  removeCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.#idListeners.add(listener);
    setImmediate(() => {
      listener({ certificate: this.#cert, privateKey: this.#key });
      this.#markDelivered();
    });
  }

  /** Resolves once the server has its certificate: before that, a handshake would be reset. */
  readonly delivered: Promise<void>;
  #markDelivered: () => void = () => undefined;

  removeIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.#idListeners.delete(listener);
  }
}
