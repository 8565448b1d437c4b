export * from './errors.js';
export { type CaCredential, type AuditEntry } from './audit-log.js';
export { type KeyType, parseCsr } from './csr.js';
export { type CaMode, PLUGIN_FILES } from './signer.js';
export * from './certificate-authority.js';
