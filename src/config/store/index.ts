export type { ChangeAction, ChangeOptions, ChangeResult, ChangeSet, ConfigStore, StoreEvent } from './types.js';
export { MemoryConfigStore } from './memory-store.js';
export { DirectoryConfigStore, type DirectoryStoreOptions } from './directory-store.js';
export { STORE_ERROR_CODES, StoreError, type StoreErrorCode } from './errors.js';
