export * from './errors.js';
export * from './sampling/index.js';
export * from './text/index.js';
export * from './ffmpeg/index.js';
export * from './transforms/index.js';
export * from './annotations/index.js';
export * from './synthetic/index.js';
export * from './dataset/index.js';
