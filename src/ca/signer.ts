// Loads and checks the CA's signing material from <data-dir>/ca: a self-signed root, or an
// operator's intermediate in Istio's plug-in file names. Every failure names the file at fault.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KU_KEY_CERT_SIGN, parseCertificatesPem, readCertificate, type CertFacts } from '../identity/index.js';
import { x509 } from '../lib/x509.js';
import { CaError } from './errors.js';
import { publicKeyBits } from './create-root.js';
import { checkSigningKey } from './signing-key.js';

export type CaMode = 'self-signed' | 'intermediate';

/** Istio's plug-in CA file names (the `cacerts` secret). */
export const PLUGIN_FILES = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const;

export interface SignerMaterial {
  readonly mode: CaMode;
  readonly key: KeyObject;
  readonly cert: CertFacts;
  /** Key identifier of the signer, for the authority key identifier of what it signs. */
  readonly keyId: Buffer;
  /** Certificates sent after a leaf: the signer and any intermediates above it, never a root. */
  readonly chain: readonly CertFacts[];
  /** The trust anchors: root-cert.pem. */
  readonly roots: readonly CertFacts[];
  /**
   * The certificate of the signing path (signer, intermediates, the root they lead to) that
   * expires first: a leaf outliving any of them would stop verifying before its own notAfter.
   */
  readonly expiresFirst: CertFacts;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CaError('WEFT_CA_FILE_UNREADABLE', `cannot read ${file}: ${code}`, { cause: err, file });
  }
}

export function readCertificates(file: string): CertFacts[] {
  const text = readText(file);
  try {
    return parseCertificatesPem(text).map((der) => readCertificate(der));
  } catch (err) {
    throw new CaError('WEFT_CA_FILE_INVALID', `${file} does not hold valid PEM certificates: ${(err as Error).message}`, { cause: err, file });
  }
}

export function readKey(file: string): KeyObject {
  const text = readText(file);
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new CaError('WEFT_CA_FILE_INVALID', `${file} does not hold a valid private key (it may be corrupted)`, { cause: err, file });
  }
}

function spkiOf(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

function keyIdOf(cert: CertFacts): Buffer {
  const ski = new x509.X509Certificate(cert.der).getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? Buffer.from(ski.keyId, 'hex') : createHash('sha1').update(publicKeyBits(spkiOf(cert.node.publicKey))).digest();
}

/** Checks the signer can sign now: a key type it can sign with, matching, a CA with keyCertSign, within its validity. */
function checkSigner(cert: CertFacts, key: KeyObject, certFile: string, keyFile: string, now: number): void {
  checkSigningKey(key, keyFile);
  if (!spkiOf(key).equals(spkiOf(cert.node.publicKey))) {
    throw new CaError('WEFT_CA_KEY_MISMATCH', `${keyFile} is not the key of ${certFile}`, { file: keyFile });
  }
  if (!cert.basicConstraints?.ca || ((cert.keyUsage ?? 0) & KU_KEY_CERT_SIGN) === 0) {
    throw new CaError('WEFT_CA_SIGNER_NOT_CA', `${certFile} is not a CA certificate with keyCertSign (subject ${cert.subject || '(empty)'})`, { file: certFile });
  }
  if (now >= cert.notAfter.getTime()) {
    throw new CaError('WEFT_CA_SIGNER_EXPIRED', `${certFile} expired at ${cert.notAfter.toISOString()}: the CA refuses to sign with an expired signer; rotate it`, { file: certFile });
  }
  if (now < cert.notBefore.getTime()) {
    throw new CaError('WEFT_CA_SIGNER_NOT_YET_VALID', `${certFile} is not valid before ${cert.notBefore.toISOString()}`, { file: certFile });
  }
}

const issuedBy = (child: CertFacts, parent: CertFacts): boolean => child.node.checkIssued(parent.node) && child.node.verify(parent.node.publicKey);

/** The certificate of `path` that expires first: no leaf signed under the path may outlive it. */
function earliest(path: readonly CertFacts[]): CertFacts {
  return path.reduce((a, b) => (b.notAfter < a.notAfter ? b : a));
}

/**
 * Walks cert-chain.pem from the signer up, in file order: each certificate must have issued the one
 * before it, and the walk must end at (or just below) a root of root-cert.pem. Whatever the file
 * holds is sent to every workload after its leaf, so a stray or misplaced certificate is refused,
 * not skipped. ca-cert.pem itself may head the file (Istio's layout) and the root may end it.
 *
 * @returns the intermediates above the signer, in order, and the root the path ends at.
 */
function walkChain(signer: CertFacts, listed: readonly CertFacts[], roots: readonly CertFacts[], file: string, now: number): { above: CertFacts[]; root: CertFacts } {
  const skip = listed[0]?.fingerprint === signer.fingerprint ? 1 : 0;
  const above: CertFacts[] = [];
  let current = signer;
  let root: CertFacts | undefined;
  for (let i = skip; i < listed.length; i++) {
    const cert = listed[i]!;
    if (root || !issuedBy(current, cert)) {
      const what = root ? `comes after the root` : `did not issue the certificate before it (${current.subject || '(empty subject)'})`;
      throw new CaError(
        'WEFT_CA_CHAIN_INVALID',
        `${file}: certificate ${i + 1} (${cert.subject || '(empty subject)'}) ${what}; cert-chain.pem must run from ca-cert.pem up to the root, each certificate followed by its issuer, and hold nothing else`,
        { file },
      );
    }
    if (roots.some((r) => r.fingerprint === cert.fingerprint)) root = cert;
    else above.push((current = cert));
  }
  root ??= roots.find((r) => issuedBy(current, r));
  if (!root) {
    throw new CaError('WEFT_CA_CHAIN_INVALID', `${file} does not lead to a certificate of root-cert.pem: the chain is incomplete or signed by another root`, { file });
  }
  const expired = above.find((c) => now >= c.notAfter.getTime());
  if (expired) {
    throw new CaError('WEFT_CA_SIGNER_EXPIRED', `an intermediate of ${file} (${expired.subject}) expired at ${expired.notAfter.toISOString()}`, { file });
  }
  // An expired root makes every leaf unverifiable: refuse to start rather than issue them.
  if (now >= root.notAfter.getTime()) {
    const rootFile = join(dirname(file), 'root-cert.pem');
    throw new CaError('WEFT_CA_SIGNER_EXPIRED', `${rootFile}: the root ${file} leads to (${root.subject}) expired at ${root.notAfter.toISOString()}; no leaf signed under it would verify`, { file: rootFile });
  }
  return { above, root };
}

/** Loads the signer of a data directory's CA, refusing anything that could not sign correctly. */
export function loadSigner(caDir: string, mode: CaMode, now: number): SignerMaterial {
  if (mode === 'self-signed') {
    const certFile = join(caDir, 'root-cert.pem');
    const keyFile = join(caDir, 'root-key.pem');
    const [root] = readCertificates(certFile);
    const key = readKey(keyFile);
    checkSigner(root!, key, certFile, keyFile, now);
    return { mode, key, cert: root!, keyId: keyIdOf(root!), chain: [], roots: [root!], expiresFirst: root! };
  }
  return loadPlugin(caDir, now);
}

/** Loads and checks Istio's four plug-in files from `dir`. */
export function loadPlugin(dir: string, now: number): SignerMaterial {
  for (const f of PLUGIN_FILES) {
    if (!existsSync(join(dir, f))) {
      throw new CaError('WEFT_CA_FILE_UNREADABLE', `plug-in CA file ${join(dir, f)} is missing: an intermediate needs ${PLUGIN_FILES.join(', ')}`, { file: join(dir, f) });
    }
  }
  const certFile = join(dir, 'ca-cert.pem');
  const keyFile = join(dir, 'ca-key.pem');
  const [cert] = readCertificates(certFile);
  const key = readKey(keyFile);
  checkSigner(cert!, key, certFile, keyFile, now);
  const roots = readCertificates(join(dir, 'root-cert.pem'));
  const listed = readCertificates(join(dir, 'cert-chain.pem'));
  const { above, root } = walkChain(cert!, listed, roots, join(dir, 'cert-chain.pem'), now);
  const chain = [cert!, ...above];
  return { mode: 'intermediate', key, cert: cert!, keyId: keyIdOf(cert!), chain, roots, expiresFirst: earliest([...chain, root]) };
}
