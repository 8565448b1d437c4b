// A small test PKI: roots, intermediates and leaf certificates whose every property a test may
// override, so a negative case is "the valid baseline, with one thing changed". Unit tests and the
// system tests (openssl, curl refusing bad client certificates) share it.
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeSecretFile } from '../../src/lib/files.js';
import { x509 } from '../../src/lib/x509.js';

const crypto = webcrypto;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type TestKeyType = 'EC P-256' | 'EC P-384' | 'RSA 2048' | 'RSA 1024' | 'Ed25519';

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';

export type EkuName = 'serverAuth' | 'clientAuth' | 'codeSigning' | 'emailProtection' | 'anyExtendedKeyUsage';

const EKU_OIDS: Record<EkuName, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

/** What a certificate looks like; every field has a sensible default for its role. */
export interface CertSpec {
  /** Subject DN, e.g. 'CN=web, O=weft test'; '' for an empty subject. */
  subject?: string;
  /** URI SANs (the SPIFFE ID); [] for none. */
  uris?: readonly string[];
  dnsNames?: readonly string[];
  /** Marks the SAN extension critical; defaults to true exactly when the subject is empty. */
  sanCritical?: boolean;
  /** basicConstraints cA; null leaves the extension out. */
  ca?: boolean | null;
  pathLength?: number;
  /** keyUsage bits; null leaves the extension out. */
  keyUsage?: readonly KeyUsageName[] | null;
  /** extendedKeyUsage purposes; null leaves the extension out. */
  extKeyUsage?: readonly EkuName[] | null;
  notBefore?: Date;
  notAfter?: Date;
  keyType?: TestKeyType;
  /** Reuse a key pair, e.g. for a certificate that must share a key with another one. */
  keys?: CryptoKeyPair;
  /** Hex serial; random by default. */
  serial?: string;
  /** Added after the standard extensions (e.g. a second SAN, an unknown critical extension). */
  extraExtensions?: readonly x509.Extension[];
  /** Leave out the subject and authority key identifiers. */
  noKeyIdentifiers?: boolean;
}

/** A certificate with its key, in every shape a test needs. */
export interface TestCert {
  readonly cert: x509.X509Certificate;
  readonly der: Buffer;
  readonly pem: string;
  readonly keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key. */
  readonly keyPem: string;
  readonly keyType: TestKeyType;
  readonly subject: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Builds certificates around one moment, `now` (default: the wall clock, whole seconds), so tests
 * can pair it with a FrozenClock or `openssl verify -attime`.
 *
 * @example
 * const pki = new TestPki();
 * const root = await pki.root('example.org');
 * const leaf = await pki.leaf(root, 'spiffe://example.org/web');
 */
export class TestPki {
  readonly now: Date;

  constructor(opts: { now?: Date | number } = {}) {
    const ms = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
    this.now = new Date(Math.floor(ms / 1000) * 1000);
  }

  /** A self-signed root CA for `trustDomain`, carrying the URI SAN spiffe://<td> unless `uris` says otherwise. */
  root(trustDomain: string, spec: CertSpec = {}): Promise<TestCert> {
    return this.issue('self', {
      subject: `CN=${trustDomain} root, O=weft test`,
      uris: [`spiffe://${trustDomain}`],
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: null,
      notBefore: new Date(this.now.getTime() - DAY),
      notAfter: new Date(this.now.getTime() + 3650 * DAY),
      ...spec,
    });
  }

  /** An intermediate CA signed by `issuer`; no SPIFFE ID unless `uris` gives one. */
  intermediate(issuer: TestCert, spec: CertSpec = {}): Promise<TestCert> {
    return this.issue(issuer, {
      subject: `CN=intermediate ${randomBytes(3).toString('hex')}, O=weft test`,
      uris: [],
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: null,
      notBefore: new Date(this.now.getTime() - DAY),
      notAfter: new Date(this.now.getTime() + 365 * DAY),
      ...spec,
    });
  }

  /** A workload leaf shaped like SPIRE's: one URI SAN, cA=false, digitalSignature, server+client EKU. */
  leaf(issuer: TestCert | 'self', spiffeId: string | null, spec: CertSpec = {}): Promise<TestCert> {
    return this.issue(issuer, {
      subject: `CN=${spiffeId?.split('/').pop() || 'leaf'}, O=weft test`,
      uris: spiffeId === null ? [] : [spiffeId],
      ca: false,
      keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'],
      extKeyUsage: ['serverAuth', 'clientAuth'],
      notBefore: new Date(this.now.getTime() - HOUR),
      notAfter: new Date(this.now.getTime() + DAY),
      ...spec,
    });
  }

  /** The general form: any spec, signed by `issuer` or by itself. */
  async issue(issuer: TestCert | 'self', spec: CertSpec): Promise<TestCert> {
    const keyType = spec.keyType ?? 'EC P-256';
    const keys = spec.keys ?? (await generateKeys(keyType));
    const subject = spec.subject ?? '';
    const signingKeys = issuer === 'self' ? keys : issuer.keys;
    const signingType = issuer === 'self' ? keyType : issuer.keyType;
    const extensions = await buildExtensions(spec, keys, issuer === 'self' ? undefined : issuer.cert, subject);
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: spec.serial ?? randomSerial(),
        subject: subject,
        issuer: issuer === 'self' ? subject : issuer.cert.subjectName,
        notBefore: spec.notBefore ?? new Date(this.now.getTime() - HOUR),
        notAfter: spec.notAfter ?? new Date(this.now.getTime() + DAY),
        publicKey: keys.publicKey,
        signingKey: signingKeys.privateKey,
        signingAlgorithm: signingAlgorithm(signingType),
        extensions,
      },
      crypto,
    );
    const der = Buffer.from(cert.rawData);
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    return { cert, der, pem: toPem('CERTIFICATE', der), keys, keyPem: toPem('PRIVATE KEY', pkcs8), keyType, subject };
  }
}

async function buildExtensions(spec: CertSpec, keys: CryptoKeyPair, issuerCert: x509.X509Certificate | undefined, subject: string): Promise<x509.Extension[]> {
  const exts: x509.Extension[] = [];
  if (spec.ca !== null && spec.ca !== undefined) {
    exts.push(new x509.BasicConstraintsExtension(spec.ca, spec.pathLength, true));
  }
  if (spec.keyUsage !== null && spec.keyUsage !== undefined) {
    const bits = spec.keyUsage.reduce((acc, name) => acc | x509.KeyUsageFlags[name], 0);
    exts.push(new x509.KeyUsagesExtension(bits, true));
  }
  if (spec.extKeyUsage !== null && spec.extKeyUsage !== undefined) {
    exts.push(new x509.ExtendedKeyUsageExtension(spec.extKeyUsage.map((n) => EKU_OIDS[n]), false));
  }
  const names = [...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })), ...(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value }))];
  if (names.length > 0) exts.push(new x509.SubjectAlternativeNameExtension(names, spec.sanCritical ?? subject === ''));
  if (!spec.noKeyIdentifiers) {
    exts.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto));
    const authorityKey = issuerCert ? issuerCert.publicKey : keys.publicKey;
    exts.push(await x509.AuthorityKeyIdentifierExtension.create(authorityKey, false, crypto));
  }
  exts.push(...(spec.extraExtensions ?? []));
  return exts;
}

/** A fresh key pair of the given type, usable for signing certificates. */
export async function generateKeys(keyType: TestKeyType): Promise<CryptoKeyPair> {
  switch (keyType) {
    case 'EC P-256':
    case 'EC P-384':
      return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: keyType.slice(3) }, true, ['sign', 'verify']);
    case 'RSA 2048':
    case 'RSA 1024':
      return crypto.subtle.generateKey(
        { name: 'RSASSA-PKCS1-v1_5', modulusLength: Number(keyType.slice(4)), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        true,
        ['sign', 'verify'],
      );
    case 'Ed25519':
      return crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  }
}

function signingAlgorithm(keyType: TestKeyType): webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams {
  if (keyType === 'EC P-384') return { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams;
  if (keyType === 'EC P-256') return { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams;
  if (keyType === 'Ed25519') return { name: 'Ed25519' };
  return { name: 'RSASSA-PKCS1-v1_5' };
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

/** PEM armour of one DER block, 64 characters a line. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/** PEM of several certificates, in order. */
export function pemOf(...certs: readonly TestCert[]): string {
  return certs.map((c) => c.pem).join('');
}

export interface PkiFiles {
  /** The leaf followed by its intermediates (what a TLS peer presents). */
  readonly certPath: string;
  /** The leaf's private key, mode 0600. */
  readonly keyPath: string;
  /** The intermediates alone (openssl verify -untrusted); absent when there are none. */
  readonly chainPath?: string;
  /** The roots (trust bundle, openssl -CAfile, curl --cacert). */
  readonly bundlePath: string;
}

/**
 * Writes a leaf, its key (0600), its intermediates and the roots as PEM files under `dir`, named
 * `<name>-cert.pem`, `<name>-key.pem`, `<name>-chain.pem` and `<name>-bundle.pem`.
 */
export function writePkiFiles(
  dir: string,
  files: { leaf: TestCert; intermediates?: readonly TestCert[]; roots: readonly TestCert[]; name?: string },
): PkiFiles {
  mkdirSync(dir, { recursive: true });
  const name = files.name ?? 'svid';
  const intermediates = files.intermediates ?? [];
  const certPath = join(dir, `${name}-cert.pem`);
  const keyPath = join(dir, `${name}-key.pem`);
  const bundlePath = join(dir, `${name}-bundle.pem`);
  writeFileAtomic(certPath, pemOf(files.leaf, ...intermediates));
  writeSecretFile(keyPath, files.leaf.keyPem);
  writeFileAtomic(bundlePath, pemOf(...files.roots));
  if (intermediates.length === 0) return { certPath, keyPath, bundlePath };
  const chainPath = join(dir, `${name}-chain.pem`);
  writeFileAtomic(chainPath, pemOf(...intermediates));
  return { certPath, keyPath, chainPath, bundlePath };
}
