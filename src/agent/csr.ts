import { KeyObject, webcrypto } from 'node:crypto';
import { x509 } from '../lib/x509.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface WorkloadKey {
  /** PKCS#8 PEM; held in memory only, never written or logged. */
  keyPem: string;
  /** DER of a PKCS#10 request whose only SAN is the workload's SPIFFE ID. */
  csrDer: Buffer;
}

/** Generates a fresh ECDSA P-256 key pair and a CSR for `spiffeId` signed with it. */
export async function generateWorkloadKey(spiffeId: string): Promise<WorkloadKey> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_P256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { keyPem, csrDer: Buffer.from(csr.rawData) };
}
