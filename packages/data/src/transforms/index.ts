export { clipFromFrames, stackClips } from './clip.js';
export type { Clip } from './clip.js';
export { resize, crop, centerCrop, hflip, normalize, resizeShortSide } from './functional.js';
export type { Interpolation, ResizeOptions } from './functional.js';
export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  normalizationFor,
  randomResizedCropParams,
  randomResizedCrop,
  randomHorizontalFlip,
  multiScaleCropParams,
  stage1TrainTransform,
  stage2TrainTransform,
  evalTransform,
  demoTransform,
  spatialCropTransform,
} from './video_transforms.js';
export type { StageTransform, TransformConfig } from './video_transforms.js';
