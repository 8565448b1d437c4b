// Istio's resources (and weft's MeshConfig) as weft's configuration: parse, validate, serialize.
export { CONFIG_ERROR_CODES, ConfigValidationError, type ConfigErrorCode, type IssueCode } from './errors.js';
export { assertValid, formatIssue, type Issue, type ValidationResult } from './issue.js';
export { parseResources, type ParseOptions } from './validate.js';
export { toYaml } from './serialize.js';
export { key, DEFAULT_NAMESPACE, RESOURCE_KINDS } from './resources.js';
export type * from './generated/types.js';
export { unenforcedFields, UNENFORCED_RULES, type UnenforcedField, type UnenforcedRule } from './unenforced.js';
export { KIND_DEFINITIONS } from './schemas/index.js';
export { decodeStoredResources, defaultMeshConfigSpec, withoutServerMetadata, type ServerMetadata, type StoredResource } from './stored.js';
export type { KindDefinition } from './schemas/kind.js';
export * from './store/index.js';
export * from './analyze/index.js';
export { tokenLocationNames, MAX_TOKEN_LOCATION_NAMES, type TokenLocationNames } from './token-locations.js';
