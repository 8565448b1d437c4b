export * from './w3c.js';
export * from './b3.js';
export * from './request-id.js';
export * from './sampling.js';
export * from './context.js';
export * from './tracer.js';
export * from './config.js';
export * from './attributes.js';
