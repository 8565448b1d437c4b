// Shared by the CA tests (excluded from the build): data directories, CSRs of every shape the CA
// must accept or refuse, Istio-style plug-in directories, and the audit log read back. Being
// under src/, it imports nothing from test/ (scripts/check-layers.js): the tests hand it their
// test/helpers/pki.ts TestPki, which fits the small PkiLike shape below.
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificatesPem } from '../../identity/index.js';
import { FrozenClock } from '../../lib/clock.js';
import { x509 } from '../../lib/x509.js';
import type { AuditEntry, CaCredential } from '../audit-log.js';
import { CertificateAuthority, type IssuedSvid, type OpenOptions } from '../certificate-authority.js';

export const TD = 'example.org';
export const ID = `spiffe://${TD}/ns/default/sa/web`;
/** 2026-01-01T00:00:00Z: every frozen clock and test PKI starts here. */
export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const CRED: CaCredential = { kind: 'operator', name: 'test' };

const cleanups: (() => void)[] = [];
/** A fresh directory removed by {@link cleanupAll}; call that from `after`. */
export function scratch(prefix = 'weft-ca-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
export function cleanupAll(): void {
  for (const c of cleanups.splice(0)) c();
}

/** A self-signed CA in a fresh data directory, at T0 unless a clock is given. */
export function newCa(opts: Partial<OpenOptions> & { rootTtlMs?: number; trustDomain?: string } = {}): { ca: CertificateAuthority; dir: string; clock: FrozenClock } {
  const dir = scratch();
  const clock = (opts.clock as FrozenClock | undefined) ?? new FrozenClock(T0);
  const ca = CertificateAuthority.init(dir, { trustDomain: TD, ...opts, clock });
  return { ca, dir, clock };
}

export type CsrKeyType = 'EC P-256' | 'EC P-384' | 'EC P-521' | 'RSA 2048' | 'RSA 1024' | 'Ed25519';

const CSR_SIGNING: Record<CsrKeyType, webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams | webcrypto.RsaHashedKeyGenParams> = {
  'EC P-256': { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
  'EC P-384': { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams,
  'EC P-521': { name: 'ECDSA', hash: 'SHA-512' } as webcrypto.EcdsaParams,
  'RSA 2048': { name: 'RSASSA-PKCS1-v1_5' },
  'RSA 1024': { name: 'RSASSA-PKCS1-v1_5' },
  Ed25519: { name: 'Ed25519' },
};

function generate(keyType: CsrKeyType): Promise<webcrypto.CryptoKeyPair> {
  const usages: webcrypto.KeyUsage[] = ['sign', 'verify'];
  if (keyType.startsWith('EC ')) return webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: keyType.slice(3) }, true, usages) as Promise<webcrypto.CryptoKeyPair>;
  if (keyType === 'Ed25519') return webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, usages) as Promise<webcrypto.CryptoKeyPair>;
  const rsa = { name: 'RSASSA-PKCS1-v1_5', modulusLength: Number(keyType.slice(4)), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  return webcrypto.subtle.generateKey(rsa, true, usages) as Promise<webcrypto.CryptoKeyPair>;
}

const keyCache = new Map<CsrKeyType, Promise<webcrypto.CryptoKeyPair>>();
function sharedKeys(keyType: CsrKeyType): Promise<webcrypto.CryptoKeyPair> {
  if (!keyCache.has(keyType)) keyCache.set(keyType, generate(keyType));
  return keyCache.get(keyType)!;
}

export type SanSpec = readonly { type: 'url' | 'dns'; value: string }[];

export interface CsrSpec {
  keyType?: CsrKeyType;
  /** The SANs asked for; [ID] by default, null for no SAN extension at all. */
  sans?: SanSpec | null;
  extensions?: readonly x509.Extension[];
  /** A fresh key pair instead of the one shared by every CSR of that key type. */
  freshKey?: boolean;
}

/** A PKCS#10 request built with @peculiar/x509, as DER and PEM. */
export async function makeCsr(spec: CsrSpec = {}): Promise<{ der: Buffer; pem: string }> {
  const keyType = spec.keyType ?? 'EC P-256';
  const keys = await (spec.freshKey ? generate(keyType) : sharedKeys(keyType));
  const sans = spec.sans === undefined ? [{ type: 'url' as const, value: ID }] : spec.sans;
  const extensions = [...(sans === null ? [] : [new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ ...s })), true)]), ...(spec.extensions ?? [])];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: CSR_SIGNING[keyType], extensions }, webcrypto);
  return { der: Buffer.from(csr.rawData), pem: csr.toString('pem') };
}

/** Every line of the CA's audit log, parsed. */
export function auditLines(ca: CertificateAuthority): (AuditEntry & { time: string })[] {
  let text: string;
  try {
    text = readFileSync(ca.audit.path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEntry & { time: string });
}

/** What the plug-in helpers need of a test certificate (test/helpers/pki.ts TestCert fits). */
export interface PkiCert {
  readonly der: Buffer;
  readonly pem: string;
  readonly keyPem: string;
}

/** What they need of a test PKI builder (test/helpers/pki.ts TestPki fits). */
export interface PkiLike<C extends PkiCert> {
  root(trustDomain: string): Promise<C>;
  intermediate(issuer: C, spec?: { uris?: readonly string[]; notAfter?: Date }): Promise<C>;
}

/** An Istio-style plug-in CA: a root, an intermediate named spiffe://<td>, and their files. */
export interface PluginCa<C extends PkiCert> {
  readonly dir: string;
  readonly root: C;
  /** The signer (ca-cert.pem) first, then any intermediates above it. */
  readonly chain: readonly C[];
}

/**
 * Writes ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem (signer up to the root) for a
 * signer under `root`, with `depth` intermediates in all (1: root -> signer; 2: root -> mid -> signer).
 */
export async function pluginCa<C extends PkiCert>(pki: PkiLike<C>, opts: { root?: C; depth?: number; signerNotAfter?: Date } = {}): Promise<PluginCa<C>> {
  const root = opts.root ?? (await pki.root(TD));
  let issuer = root;
  const above: C[] = [];
  for (let i = 1; i < (opts.depth ?? 1); i++) {
    issuer = await pki.intermediate(issuer);
    above.unshift(issuer);
  }
  const signer = await pki.intermediate(issuer, { uris: [`spiffe://${TD}`], ...(opts.signerNotAfter ? { notAfter: opts.signerNotAfter } : {}) });
  const chain = [signer, ...above];
  const dir = scratch('weft-plugin-');
  writePluginFiles(dir, { signer, chain, root });
  return { dir, root, chain };
}

const pemOf = (certs: readonly PkiCert[]): string => certs.map((c) => c.pem).join('');

/** Writes the four plug-in files; `rootsFile` overrides what root-cert.pem holds. */
export function writePluginFiles(dir: string, files: { signer: PkiCert; chain: readonly PkiCert[]; root: PkiCert; rootsFile?: readonly PkiCert[] }): void {
  writeFileSync(join(dir, 'ca-cert.pem'), files.signer.pem);
  writeFileSync(join(dir, 'ca-key.pem'), files.signer.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'root-cert.pem'), pemOf(files.rootsFile ?? [files.root]));
  writeFileSync(join(dir, 'cert-chain.pem'), pemOf([...files.chain, files.root]));
}

/** The DER of the leaf and of every certificate sent with it. */
export function chainDer(svid: IssuedSvid): Buffer[] {
  return [svid.leafDer, ...svid.chainPem.flatMap((p) => parseCertificatesPem(p))];
}
