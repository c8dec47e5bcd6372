export * from './layer.js';
