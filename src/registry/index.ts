export * from './errors.js';
export * from './service-registry.js';
