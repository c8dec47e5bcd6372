export { VideoTextDataset, recordsFromAnnotation } from './video_dataset.js';
export type { MediaRecord, VideoSample, VideoDatasetOptions } from './video_dataset.js';
export { VideoLoader, epochOrder } from './loader.js';
export type { Batch, LoaderOptions, EpochReport, SkippedSample } from './loader.js';
export { metaLoader } from './meta_loader.js';
export { ClipShapeError } from './errors.js';
