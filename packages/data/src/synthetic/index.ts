export { writeSyntheticDataset, writeSyntheticAnnotations, syntheticClips, syntheticAnnotations, SYNTHETIC_QUESTIONS } from './synthetic_dataset.js';
export type { SyntheticOptions, SyntheticManifest, SyntheticClip, SyntheticClips } from './synthetic_dataset.js';
export { renderClip, describeClip, COLORS, SHAPES, MOTIONS } from './render.js';
export type { ClipSpec, ColorName, ShapeName, MotionName } from './render.js';
export { encodeFrames } from './encode.js';
export type { SyntheticCodec } from './encode.js';
