export * from './errors.js';
export * from './service-registry.js';
export * from './labels.js';
export * from './limits.js';
export * from './locality.js';
export * from './ports.js';
