export * from './sidecar.js';
export { SnapshotDirectory } from './snapshot-directory.js';
