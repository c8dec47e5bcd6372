// Browser entry: WebCodecs decoding plus everything that needs no Node built-in (samplers, transforms, pre_text).
export * from './browser/errors.js';
export { openVideo, WebCodecsFrameSource } from './browser/webcodecs_frame_source.js';
export * from './sampling/index.js';
export * from './text/index.js';
export * from './transforms/index.js';
