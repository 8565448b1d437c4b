// Which private keys the CA can sign with. Checked when the CA opens, so a plugged-in key of another
// type stops the CA with the file named instead of failing (or signing something odd) per request.
import type { KeyObject } from 'node:crypto';
import { CaError } from './errors.js';

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const NAMES: Record<string, string> = { rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448', x25519: 'X25519', x448: 'X448' };
/** RSA below this is refused, as it is for a CSR (docs/errors.md WEFT_CSR_UNSUPPORTED_KEY). */
const MIN_RSA_BITS = 2048;

/** 'EC P-256', 'RSA 1024', 'Ed25519', 'DSA 2048'...: the key type as the error names it. */
export function describeKeyType(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  const { namedCurve, modulusLength } = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') return `EC ${CURVES[namedCurve ?? ''] ?? namedCurve ?? 'unknown curve'}`;
  const name = NAMES[type] ?? type.toUpperCase();
  return modulusLength === undefined ? name : `${name} ${modulusLength}`;
}

/**
 * Refuses a key the leaf template cannot sign with: only ECDSA P-256/P-384 (SHA-256/384) and RSA
 * PKCS#1 v1.5 of at least 2048 bits. RSA-PSS keys are refused too: Node would sign them with PSS
 * padding under a sha256WithRSAEncryption label, which no verifier accepts.
 */
export function checkSigningKey(key: KeyObject, file: string): void {
  const type = describeKeyType(key);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (type === 'EC P-256' || type === 'EC P-384' || (key.asymmetricKeyType === 'rsa' && bits >= MIN_RSA_BITS)) return;
  throw new CaError(
    'WEFT_CA_UNSUPPORTED_KEY',
    `${file} holds a key of type ${type}: the CA signs only with ECDSA P-256, ECDSA P-384 or RSA of at least ${MIN_RSA_BITS} bits`,
    { file },
  );
}
