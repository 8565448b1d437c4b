export * from './labels.js';
export * from './istio-metrics.js';
export * from './exposition.js';
