import { WeftError } from '../lib/errors.js';

/** Codes of the identity domain; each is documented in docs/errors.md. */
export const IDENTITY_ERROR_CODES = [
  'WEFT_SPIFFE_ID_INVALID',
  'WEFT_TRUST_DOMAIN_INVALID',
  'WEFT_PEM_INVALID',
  'WEFT_BUNDLE_INVALID',
  'WEFT_SVID_EMPTY_CHAIN',
  'WEFT_SVID_MALFORMED',
  'WEFT_SVID_NO_URI_SAN',
  'WEFT_SVID_MULTIPLE_URI_SANS',
  'WEFT_SVID_BAD_SPIFFE_ID',
  'WEFT_SVID_ROOT_PATH',
  'WEFT_SVID_LEAF_IS_CA',
  'WEFT_SVID_LEAF_KEY_CERT_SIGN',
  'WEFT_SVID_LEAF_CRL_SIGN',
  'WEFT_SVID_NO_DIGITAL_SIGNATURE',
  'WEFT_SVID_BAD_EKU',
  'WEFT_SVID_WEAK_KEY',
  'WEFT_SVID_UNKNOWN_CRITICAL_EXTENSION',
  'WEFT_SVID_NO_BUNDLE',
  'WEFT_SVID_UNTRUSTED',
  'WEFT_SVID_CHAIN_TOO_LONG',
  'WEFT_SVID_SIGNER_NOT_CA',
  'WEFT_SVID_SIGNER_NO_KEY_CERT_SIGN',
  'WEFT_SVID_SIGNER_SPIFFE_ID',
  'WEFT_SVID_PATH_LEN',
  'WEFT_SVID_EXPIRED',
  'WEFT_SVID_NOT_YET_VALID',
] as const;

export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];

/** The codes an X.509-SVID check can fail with, one per rule. */
export type SvidErrorCode = Extract<IdentityErrorCode, `WEFT_SVID_${string}`>;

/** The SPIFFE-ID rule a text broke; stable, for callers that switch on it. */
export type SpiffeIdRule =
  | 'empty'
  | 'scheme'
  | 'trust-domain-characters'
  | 'trust-domain-lowercase'
  | 'trust-domain-missing'
  | 'trust-domain-too-long'
  | 'path-leading-slash'
  | 'path-empty-segment'
  | 'path-dot-segment'
  | 'path-characters'
  | 'path-trailing-slash'
  | 'too-long';

/** A text that is not a SPIFFE ID (or trust domain) under the SPIFFE-ID standard. */
export class SpiffeIdError extends WeftError<'WEFT_SPIFFE_ID_INVALID' | 'WEFT_TRUST_DOMAIN_INVALID'> {
  readonly rule: SpiffeIdRule;
  readonly input: string;

  constructor(code: 'WEFT_SPIFFE_ID_INVALID' | 'WEFT_TRUST_DOMAIN_INVALID', rule: SpiffeIdRule, input: string, reason: string) {
    const what = code === 'WEFT_SPIFFE_ID_INVALID' ? 'SPIFFE ID' : 'trust domain';
    super(code, `invalid ${what} ${JSON.stringify(truncate(input))}: ${reason}`);
    this.name = 'SpiffeIdError';
    this.rule = rule;
    this.input = input;
  }
}

/** PEM text that holds no certificate, a block that is not a CERTIFICATE, or a block that does not decode. */
export class PemError extends WeftError<'WEFT_PEM_INVALID'> {
  /** 1-based number of the offending PEM block, when one is to blame. */
  readonly block: number | undefined;

  constructor(message: string, options?: { block?: number; cause?: unknown }) {
    super('WEFT_PEM_INVALID', message, options);
    this.name = 'PemError';
    this.block = options?.block;
  }
}

/** A trust bundle (PEM or SPIFFE bundle JSON) that cannot be used; names the key and field at fault. */
export class TrustBundleError extends WeftError<'WEFT_BUNDLE_INVALID'> {
  readonly trustDomain: string;
  /** Index into `keys` of a SPIFFE bundle, or of the PEM block, when one entry is to blame. */
  readonly keyIndex: number | undefined;
  /** The member at fault, e.g. 'x5c[0]', 'kid', 'spiffe_sequence'. */
  readonly field: string | undefined;

  constructor(trustDomain: string, reason: string, options?: { keyIndex?: number; field?: string; cause?: unknown }) {
    super('WEFT_BUNDLE_INVALID', `invalid trust bundle for ${trustDomain}: ${reason}`, options);
    this.name = 'TrustBundleError';
    this.trustDomain = trustDomain;
    this.keyIndex = options?.keyIndex;
    this.field = options?.field;
  }
}

/** Which certificate of a chain an SVID problem is about. */
export interface CertificateRef {
  /** 'leaf', 'intermediate' (sent by the peer) or 'root' (from the trust bundle). */
  readonly role: 'leaf' | 'intermediate' | 'root';
  /** Index in the chain as given (leaf = 0), or in the bundle for a root. */
  readonly index: number;
  readonly subject?: string;
  readonly serial?: string;
  readonly spiffeId?: string;
}

/**
 * An X.509 certificate chain that is not a valid X.509-SVID here. `code` names the rule broken
 * (one code per rule); the message names the certificate.
 */
export class SvidError extends WeftError<SvidErrorCode> {
  readonly certificate: CertificateRef | undefined;

  constructor(code: SvidErrorCode, message: string, options?: { certificate?: CertificateRef; cause?: unknown }) {
    super(code, message, options);
    this.name = 'SvidError';
    this.certificate = options?.certificate;
  }
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
