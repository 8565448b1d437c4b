export * from './errors.js';
export * from './spiffe-id.js';
export * from './x509-svid.js';
export * from './trust-bundle.js';
export * from './bundle-jwks.js';
export { certificatesToPem } from './pem.js';
export { controlPlaneIdentity, reservedIdentityReason } from './reserved-identities.js';
export { MAX_PATH_CERTIFICATES, MIN_RSA_BITS } from './x509-path.js';
export { readCertificate, sha256Fingerprint, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, KU_CRL_SIGN, type CertFacts } from './certificate.js';
