import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { certificatesToPem, parseSpiffeId, parseTrustDomain, reservedIdentityReason, type SpiffeId } from '../identity/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { isWeftError, WeftError } from '../lib/errors.js';
import { writeFileAtomic, writeSecretFile } from '../lib/files.js';
import { AuditLog, type CaCredential } from './audit-log.js';
import { caDir, readConfig, refuseLeftovers, writeConfig, type CaConfig } from './ca-state.js';
import { createRoot, publicKeyBits } from './create-root.js';
import { parseCsr, type KeyType } from './csr.js';
import { CaError } from './errors.js';
import { LeafTemplate } from './leaf-template.js';
import { SvidLifecycle, type Lineage } from './svid-lifecycle.js';
import { loadPlugin, loadSigner, PLUGIN_FILES, type CaMode, type SignerMaterial } from './signer.js';

const HOUR = 3_600_000;
/** SPIRE's choice: certificates start 10 s in the past so a peer whose clock lags accepts them. */
const BACKDATE_MS = 10_000;
export const DEFAULT_ROOT_TTL_MS = 3650 * 24 * HOUR;
export const DEFAULT_SVID_TTL_MS = HOUR;
export const DEFAULT_MAX_SVID_TTL_MS = 24 * HOUR;

export interface IssuedSvid {
  spiffeId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  keyType: KeyType;
  leafDer: Buffer;
  leafPem: string;
  /** Intermediates to send after the leaf, PEM each (none for a self-signed root). */
  chainPem: string[];
  bundlePem: string;
}

export interface OpenOptions {
  clock?: Clock;
  defaultTtlMs?: number;
  maxTtlMs?: number;
}

/**
 * The certificate authority of a data directory: signs CSRs into X.509-SVIDs of its trust domain
 * and appends every issuance and refusal to the audit log.
 */
export class CertificateAuthority {
  readonly dataDir: string;
  readonly trustDomain: string;
  readonly mode: CaMode;
  readonly rootFingerprint: string;
  readonly rootNotAfter: Date;
  readonly signerNotAfter: Date;
  /** The earliest expiry from the signer up to the root: no leaf outlives it. */
  readonly issuesUntil: Date;
  readonly audit: AuditLog;
  /** Lineage of every unexpired SVID issued, and the revocation list. */
  readonly lifecycle: SvidLifecycle;
  readonly #clock: Clock;
  readonly #signer: SignerMaterial;
  readonly #template: LeafTemplate;
  readonly #bundlePem: string;
  readonly #chainPem: string[];
  readonly #defaultTtlMs: number;
  readonly #maxTtlMs: number;

  private constructor(dataDir: string, config: CaConfig, opts: OpenOptions) {
    this.dataDir = dataDir;
    this.trustDomain = config.trustDomain;
    this.mode = config.mode;
    this.#clock = opts.clock ?? systemClock;
    this.#defaultTtlMs = opts.defaultTtlMs ?? DEFAULT_SVID_TTL_MS;
    this.#maxTtlMs = opts.maxTtlMs ?? DEFAULT_MAX_SVID_TTL_MS;
    this.#signer = loadSigner(caDir(dataDir), config.mode, this.#clock.now());
    this.#template = new LeafTemplate(this.#signer.key, this.#signer.cert.subjectDer, this.#signer.keyId);
    this.#bundlePem = certificatesToPem(this.#signer.roots.map((r) => r.der));
    this.#chainPem = this.#signer.chain.map((c) => certificatesToPem([c.der]));
    this.rootFingerprint = this.#signer.roots[0]!.fingerprint;
    this.rootNotAfter = this.#signer.roots[0]!.notAfter;
    this.signerNotAfter = this.#signer.cert.notAfter;
    this.issuesUntil = this.#signer.expiresFirst.notAfter;
    this.audit = new AuditLog(join(dataDir, 'audit.log'), () => this.#clock.now());
    this.lifecycle = new SvidLifecycle(dataDir, () => this.#clock.now(), this.#maxTtlMs);
  }

  /**
   * Opens the CA of `dataDir`, creating a self-signed ECDSA P-256 root first when there is none.
   * Opening an existing CA of the same trust domain is a no-op; another trust domain is refused.
   */
  static init(dataDir: string, opts: OpenOptions & { trustDomain: string; rootTtlMs?: number }): CertificateAuthority {
    const trustDomain = parseTrustDomain(opts.trustDomain);
    const existing = readConfig(dataDir);
    if (existing) {
      if (existing.trustDomain !== trustDomain) throw trustDomainMismatch(dataDir, existing.trustDomain, trustDomain);
      return new CertificateAuthority(dataDir, existing, opts);
    }
    refuseLeftovers(dataDir);
    const clock = opts.clock ?? systemClock;
    const now = clock.now();
    const root = createRoot(trustDomain, now - HOUR, now + (opts.rootTtlMs ?? DEFAULT_ROOT_TTL_MS));
    const dir = caDir(dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const config: CaConfig = { trustDomain, mode: 'self-signed', createdAt: new Date(now).toISOString() };
    const ca = writeOrUndo(dir, ['root-key.pem', 'root-cert.pem'], () => {
      writeSecretFile(join(dir, 'root-key.pem'), root.key.export({ type: 'pkcs8', format: 'pem' }) as string);
      writeFileAtomic(join(dir, 'root-cert.pem'), certificatesToPem([root.certDer]));
      // ca.json last: a data directory without it is not initialised.
      writeConfig(dataDir, config);
      return new CertificateAuthority(dataDir, config, opts);
    });
    ca.audit.append({ event: 'ca.created', mode: 'self-signed', trustDomain, rootFingerprint: ca.rootFingerprint, notAfter: ca.rootNotAfter.toISOString() });
    return ca;
  }

  /**
   * Plugs in an operator's intermediate from Istio's files in `sourceDir` (ca-cert.pem, ca-key.pem,
   * root-cert.pem, cert-chain.pem), after checking them, into a data directory without a CA.
   * Plugging the same material in again opens the CA as it is; anything else already there
   * (another CA, or CA files without ca.json) is refused and left untouched.
   */
  static initFromPlugin(dataDir: string, sourceDir: string, opts: OpenOptions & { trustDomain?: string } = {}): CertificateAuthority {
    const clock = opts.clock ?? systemClock;
    const existing = readConfig(dataDir);
    if (!existing) refuseLeftovers(dataDir);
    const material = loadPlugin(sourceDir, clock.now());
    const certFile = join(sourceDir, 'ca-cert.pem');
    const own = material.cert.uris.map((u) => { try { return parseSpiffeId(u); } catch { return undefined; } }).find((id) => id && id.path === '');
    const trustDomain = parseTrustDomain(opts.trustDomain ?? own?.trustDomain ?? existing?.trustDomain ?? '');
    if (own && own.trustDomain !== trustDomain) {
      throw new CaError('WEFT_CA_TRUST_DOMAIN_MISMATCH', `${certFile} names trust domain ${own.trustDomain}, not ${trustDomain}: leave out --trust-domain to use ${own.trustDomain}, or plug in an intermediate of ${trustDomain}`, { file: certFile });
    }
    if (existing) return CertificateAuthority.#reopenSamePlugin(dataDir, existing, material, trustDomain, opts);
    const dir = caDir(dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const config: CaConfig = { trustDomain, mode: 'intermediate', createdAt: new Date(clock.now()).toISOString() };
    const ca = writeOrUndo(dir, PLUGIN_FILES, () => {
      for (const f of PLUGIN_FILES) {
        if (f === 'ca-key.pem') writeSecretFile(join(dir, f), readFileSync(join(sourceDir, f)));
        else copyFileSync(join(sourceDir, f), join(dir, f));
      }
      writeConfig(dataDir, config);
      return new CertificateAuthority(dataDir, config, opts);
    });
    ca.audit.append({ event: 'ca.created', mode: 'intermediate', trustDomain, rootFingerprint: ca.rootFingerprint, notAfter: ca.signerNotAfter.toISOString() });
    return ca;
  }

  /**
   * initFromPlugin on a data directory that already holds a CA: the same intermediate (same signer,
   * chain and roots; the key matches the signer, so it is the same key too) is opened as it is,
   * anything else is refused. Nothing is written either way.
   */
  static #reopenSamePlugin(dataDir: string, existing: CaConfig, material: SignerMaterial, trustDomain: string, opts: OpenOptions): CertificateAuthority {
    const ca = new CertificateAuthority(dataDir, existing, opts);
    const same = (a: readonly { fingerprint: string }[], b: readonly { fingerprint: string }[]) => a.map((c) => c.fingerprint).join() === b.map((c) => c.fingerprint).join();
    if (existing.mode !== 'intermediate' || !same(ca.#signer.chain, material.chain) || !same(ca.#signer.roots, material.roots)) {
      throw new CaError(
        'WEFT_CA_ALREADY_EXISTS',
        `${resolve(dataDir)} already holds another CA (${existing.mode}, trust domain ${existing.trustDomain}, root ${ca.rootFingerprint}): weft never replaces a CA's key material; plug the intermediate into a new --data-dir`,
        { file: join(caDir(dataDir), 'ca.json') },
      );
    }
    if (existing.trustDomain !== trustDomain) throw trustDomainMismatch(dataDir, existing.trustDomain, trustDomain);
    return ca;
  }

  /** Opens the CA of an initialised data directory. */
  static open(dataDir: string, opts: OpenOptions = {}): CertificateAuthority {
    const config = readConfig(dataDir);
    if (!config) {
      throw new CaError('WEFT_CA_NOT_INITIALISED', `no CA in ${resolve(dataDir)}: run \`weft ca init --data-dir ${dataDir}\` first`);
    }
    return new CertificateAuthority(dataDir, config, opts);
  }

  bundlePem(): string {
    return this.#bundlePem;
  }

  chainPem(): string[] {
    return [...this.#chainPem];
  }

  /**
   * Signs a CSR into an X.509-SVID. The CSR must ask for exactly one SAN, the SPIFFE ID, in this
   * CA's trust domain, and equal to `expectedSpiffeId` (what the credential proves) when given.
   * Every issuance and every refusal is appended to the audit log. A renewal (credential: the
   * caller's SVID) continues that SVID's lineage, and is refused for a revoked serial or one that
   * does not renew (see svid-lifecycle.ts); a renewable mint's renewals never outlive its TTL.
   *
   * @throws CaError (WEFT_CSR_*, WEFT_CA_CERT_REVOKED, WEFT_CA_RENEWAL_REFUSED) and nothing is issued.
   */
  issue(csr: Uint8Array | string, req: { credential: CaCredential; expectedSpiffeId?: string; ttlMs?: number }): IssuedSvid {
    let requested: SpiffeId | undefined;
    try {
      const parsed = parseCsrChecked(csr);
      requested = this.#checkIdentity(parsed.uri);
      if (req.expectedSpiffeId !== undefined && requested.text !== req.expectedSpiffeId) {
        throw new CaError('WEFT_CSR_IDENTITY_MISMATCH', `CSR asks for ${requested.text} but the credential proves ${req.expectedSpiffeId}`);
      }
      const lineage = this.lifecycle.lineageFor(req.credential);
      const ttlMs = lineage.ttlCapMs === undefined ? req.ttlMs : Math.min(req.ttlMs ?? this.#defaultTtlMs, lineage.ttlCapMs);
      return this.#sign(parsed, requested, req.credential, ttlMs, lineage);
    } catch (err) {
      this.audit.append({
        event: 'svid.refused',
        spiffeId: requested?.text,
        credential: req.credential,
        code: isWeftError(err) ? err.code : 'internal',
        reason: (err as Error).message,
      });
      throw err;
    }
  }

  /**
   * Generates a key pair and issues an SVID for it (`weft ca mint`): for workloads outside the mesh.
   * It does not renew unless `renewable` (then its renewals are capped at its TTL). The control
   * plane's identity and `adminIdentities` are issued only with `privileged`.
   *
   * @throws CaError WEFT_CA_RESERVED_IDENTITY, or as `issue`.
   */
  mint(
    spiffeId: string,
    opts: { ttlMs?: number; keyType?: 'ec-p256' | 'ec-p384' | 'rsa-2048'; credential?: CaCredential; renewable?: boolean; privileged?: boolean; adminIdentities?: readonly string[] } = {},
  ): IssuedSvid & { keyPem: string } {
    const credential = opts.credential ?? { kind: 'operator', name: 'mint' };
    let id: SpiffeId | undefined;
    try {
      id = this.#checkIdentity(spiffeId);
      const reserved = reservedIdentityReason(id.text, this.trustDomain, opts.adminIdentities ?? []);
      if (reserved !== undefined && opts.privileged !== true) {
        throw new CaError('WEFT_CA_RESERVED_IDENTITY', `refusing to mint: ${reserved}; pass --allow-privileged-identity if that is what you mean`);
      }
      const keys =
        opts.keyType === 'rsa-2048'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: opts.keyType === 'ec-p384' ? 'secp384r1' : 'prime256v1' });
      const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
      const keyType: KeyType = opts.keyType === 'rsa-2048' ? 'RSA 2048' : opts.keyType === 'ec-p384' ? 'EC P-384' : 'EC P-256';
      const lineage: Lineage = opts.renewable === true ? { origin: 'mint-renewable', ttlCapMs: opts.ttlMs ?? this.#defaultTtlMs } : { origin: 'mint' };
      const issued = this.#sign({ spki, publicKeyBits: publicKeyBits(spki), isRsa: opts.keyType === 'rsa-2048', keyType, uri: id.text }, id, credential, opts.ttlMs, lineage);
      return { ...issued, keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    } catch (err) {
      this.audit.append({ event: 'svid.refused', spiffeId: id?.text ?? spiffeId.slice(0, 2048), credential, code: isWeftError(err) ? err.code : 'internal', reason: (err as Error).message });
      throw err;
    }
  }

  #checkIdentity(uri: string): SpiffeId {
    let id: SpiffeId;
    try {
      id = parseSpiffeId(uri);
    } catch (err) {
      throw new CaError('WEFT_CSR_BAD_SPIFFE_ID', `requested SAN is not a valid SPIFFE ID: ${(err as Error).message}`, { cause: err });
    }
    if (id.trustDomain !== this.trustDomain) {
      throw new CaError('WEFT_CSR_FOREIGN_TRUST_DOMAIN', `requested SPIFFE ID ${id.text} is in trust domain ${id.trustDomain}; this CA signs only for ${this.trustDomain}`);
    }
    if (id.path === '') {
      throw new CaError('WEFT_CSR_BAD_SPIFFE_ID', `requested SPIFFE ID ${id.text} has no path: a workload's X.509-SVID needs one (spiffe://${id.trustDomain} names the trust domain)`);
    }
    return id;
  }

  #sign(
    key: { spki: Buffer; publicKeyBits: Buffer; isRsa: boolean; keyType: KeyType; uri: string },
    id: SpiffeId,
    credential: CaCredential,
    ttlMs: number | undefined,
    lineage: Lineage,
  ): IssuedSvid {
    const now = this.#clock.now();
    // Every certificate from the signer up to the root bounds the leaf, not only the signer.
    const limit = this.#signer.expiresFirst;
    if (now >= limit.notAfter.getTime()) {
      const which = limit === this.#signer.cert ? "the CA's signing certificate" : `a certificate above the CA's signer (${limit.subject})`;
      throw new CaError('WEFT_CA_SIGNER_EXPIRED', `${which} expired at ${limit.notAfter.toISOString()}: nothing can be issued until it is rotated`);
    }
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new TypeError('"ttlMs" must be a positive number of milliseconds');
    const notAfter = Math.min(now + Math.min(ttlMs ?? this.#defaultTtlMs, this.#maxTtlMs), limit.notAfter.getTime());
    const notBefore = now - BACKDATE_MS;
    const leaf = this.#template.sign({ spki: key.spki, publicKeyBits: key.publicKeyBits, isRsa: key.isRsa, uri: id.text, notBefore, notAfter });
    // Validity is encoded to the second; report what the certificate says.
    const issued: IssuedSvid = {
      spiffeId: id.text,
      serial: leaf.serial,
      notBefore: new Date(Math.floor(notBefore / 1000) * 1000),
      notAfter: new Date(Math.floor(notAfter / 1000) * 1000),
      keyType: key.keyType,
      leafDer: leaf.der,
      leafPem: certificatesToPem([leaf.der]),
      chainPem: [...this.#chainPem],
      bundlePem: this.#bundlePem,
    };
    this.lifecycle.record(leaf.serial, id.text, issued.notAfter, lineage);
    this.audit.append({ event: 'svid.issued', spiffeId: id.text, serial: leaf.serial, notAfter: issued.notAfter.toISOString(), keyType: key.keyType, credential, lineage: lineage.origin });
    return issued;
  }
}

/** Runs `write`; if it throws, removes ca.json and `files` (all written by it: refuseLeftovers ran first). */
function writeOrUndo<T>(dir: string, files: readonly string[], write: () => T): T {
  try {
    return write();
  } catch (err) {
    for (const f of ['ca.json', ...files]) rmSync(join(dir, f), { force: true });
    throw err;
  }
}

function trustDomainMismatch(dataDir: string, has: string, asked: string): CaError {
  const dir = resolve(dataDir);
  return new CaError(
    'WEFT_CA_TRUST_DOMAIN_MISMATCH',
    `${dir} already holds the CA of trust domain ${has}, not ${asked}: a CA keeps the trust domain it was created with. To use this CA, run with --trust-domain ${has}; for a mesh of ${asked}, give another --data-dir`,
    { file: join(caDir(dir), 'ca.json') },
  );
}

/** parseCsr, with anything unexpected from a hostile CSR reported as malformed rather than thrown raw. */
function parseCsrChecked(csr: Uint8Array | string): ReturnType<typeof parseCsr> {
  try {
    return parseCsr(csr);
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw new CaError('WEFT_CSR_MALFORMED', `CSR could not be read: ${(err as Error).message}`, { cause: err });
  }
}
