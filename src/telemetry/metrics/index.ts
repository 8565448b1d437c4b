export * from './labels.js';
export * from './istio-metrics.js';
