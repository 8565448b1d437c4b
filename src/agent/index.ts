export * from './errors.js';
export * from './sidecar-agent.js';
export { fetchPinnedRoot } from './pin-root.js';
export { generateWorkloadKey } from './csr.js';
