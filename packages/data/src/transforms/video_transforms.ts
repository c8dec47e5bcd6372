import type { Rng } from '@iv2/core';
import { roundHalfEven } from '../sampling/numpy_compat.js';
import type { Clip } from './clip.js';
import { centerCrop, crop, hflip, normalize, resize, resizeShortSide, type Interpolation } from './functional.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Official choice (`multi_modality/dataset/__init__.py`): CLIP statistics only for encoders named `clip*`. */
export function normalizationFor(visionEncoderName: string): { mean: readonly number[]; std: readonly number[] } {
  return visionEncoderName.toLowerCase().includes('clip') && !visionEncoderName.toLowerCase().includes('internvideo')
    ? { mean: OPENAI_CLIP_MEAN, std: OPENAI_CLIP_STD }
    : { mean: IMAGENET_MEAN, std: IMAGENET_STD };
}

/** The crop box of torchvision `RandomResizedCrop.get_params` (10 tries, then the central fallback). */
export function randomResizedCropParams(
  h: number,
  w: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  rng: Rng,
): { top: number; left: number; height: number; width: number } {
  const area = h * w;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let i = 0; i < 10; i++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const aspect = Math.exp(logR[0] + (logR[1] - logR[0]) * rng.uniform());
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      return { top: rng.int(0, h - ch + 1), left: rng.int(0, w - cw + 1), height: ch, width: cw };
    }
  }
  const inRatio = w / h;
  let cw: number;
  let ch: number;
  if (inRatio < Math.min(...ratio)) {
    cw = w;
    ch = roundHalfEven(cw / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    ch = h;
    cw = roundHalfEven(ch * Math.max(...ratio));
  } else {
    cw = w;
    ch = h;
  }
  return { top: Math.floor((h - ch) / 2), left: Math.floor((w - cw) / 2), height: ch, width: cw };
}

/** Same crop for all frames, then resize (official stage-2 train: scale (0.5, 1), bicubic). */
export function randomResizedCrop(
  clip: Clip,
  size: number,
  rng: Rng,
  opts: { scale?: [number, number]; ratio?: [number, number]; interpolation?: Interpolation } = {},
): Clip {
  const p = randomResizedCropParams(clip.h, clip.w, opts.scale ?? [0.08, 1], opts.ratio ?? [3 / 4, 4 / 3], rng);
  return resize(crop(clip, p.top, p.left, p.height, p.width), size, size, opts.interpolation ?? 'bilinear');
}

export function randomHorizontalFlip(clip: Clip, rng: Rng, p = 0.5): Clip {
  return rng.uniform() < p ? hflip(clip) : clip;
}

/** Stage-1 TSN multi-scale crop (`GroupMultiScaleCrop`, scales 1/.875/.75/.66, max distortion 1, 13 positions). */
export function multiScaleCropParams(
  h: number,
  w: number,
  inputSize: number,
  rng: Rng,
  scales: readonly number[] = [1, 0.875, 0.75, 0.66],
  maxDistort = 1,
): { top: number; left: number; height: number; width: number } {
  const base = Math.min(h, w);
  const sizes = scales.map((s) => Math.trunc(base * s)).map((x) => (Math.abs(x - inputSize) < 3 ? inputSize : x));
  const pairs: Array<[number, number]> = [];
  sizes.forEach((ch, i) => sizes.forEach((cw, j) => Math.abs(i - j) <= maxDistort && pairs.push([cw, ch])));
  const [cw, ch] = pairs[rng.int(0, pairs.length)];
  const ws = Math.floor((w - cw) / 4);
  const hs = Math.floor((h - ch) / 4);
  const offsets: Array<[number, number]> = [
    [0, 0], [4 * ws, 0], [0, 4 * hs], [4 * ws, 4 * hs], [2 * ws, 2 * hs],
    [0, 2 * hs], [4 * ws, 2 * hs], [2 * ws, 4 * hs], [2 * ws, 0],
    [ws, hs], [3 * ws, hs], [ws, 3 * hs], [3 * ws, 3 * hs],
  ];
  const [left, top] = offsets[rng.int(0, offsets.length)];
  return { top, left, height: ch, width: cw };
}

export type StageTransform = (clip: Clip, rng: Rng) => Clip;

export interface TransformConfig {
  size?: number;
  mean?: readonly number[];
  std?: readonly number[];
}

/** Stage 1 pre-training: multi-scale crop, bilinear to size², flip p=0.5 unless the source is SSv2, normalise. */
export function stage1TrainTransform(cfg: TransformConfig & { flip?: boolean } = {}): StageTransform {
  const size = cfg.size ?? 224;
  return (clip, rng) => {
    const p = multiScaleCropParams(clip.h, clip.w, size, rng);
    let x = resize(crop(clip, p.top, p.left, p.height, p.width), size, size, 'bilinear');
    if (cfg.flip ?? true) x = randomHorizontalFlip(x, rng);
    return normalize(x, cfg.mean ?? IMAGENET_MEAN, cfg.std ?? IMAGENET_STD);
  };
}

/** Stage 2 training: RandomResizedCrop(size, scale (0.5, 1), bicubic), flip p=0.5, normalise. */
export function stage2TrainTransform(cfg: TransformConfig = {}): StageTransform {
  const size = cfg.size ?? 224;
  return (clip, rng) => {
    let x = randomResizedCrop(clip, size, rng, { scale: [0.5, 1], interpolation: 'bicubic' });
    x = randomHorizontalFlip(x, rng);
    return normalize(x, cfg.mean ?? IMAGENET_MEAN, cfg.std ?? IMAGENET_STD);
  };
}

/** Stage-2 / CLIP evaluation and zero-shot: resize straight to size² (bicubic, aspect not kept), normalise. */
export function evalTransform(cfg: TransformConfig = {}): StageTransform {
  const size = cfg.size ?? 224;
  return (clip) => normalize(resize(clip, size, size, 'bicubic'), cfg.mean ?? IMAGENET_MEAN, cfg.std ?? IMAGENET_STD);
}

/** The official demo: bilinear resize to size² (cv2.resize), normalise. */
export function demoTransform(cfg: TransformConfig = {}): StageTransform {
  const size = cfg.size ?? 224;
  return (clip) => normalize(resize(clip, size, size, 'bilinear'), cfg.mean ?? IMAGENET_MEAN, cfg.std ?? IMAGENET_STD);
}

/** Fine-tuning / probing test view: short side → size (bilinear), one of 3 spatial crops (0 left/top, 1 centre, 2 right/bottom). */
export function spatialCropTransform(cfg: TransformConfig & { crop?: 0 | 1 | 2 } = {}): StageTransform {
  const size = cfg.size ?? 224;
  return (clip) => {
    const x = resizeShortSide(clip, size, 'bilinear');
    const k = cfg.crop ?? 1;
    let out: Clip;
    if (k === 1) out = centerCrop(x, size, size);
    else {
      const top = x.h > x.w ? (k === 0 ? 0 : x.h - size) : Math.ceil((x.h - size) / 2);
      const left = x.w >= x.h ? (k === 0 ? 0 : x.w - size) : Math.ceil((x.w - size) / 2);
      out = crop(x, top, left, size, size);
    }
    return normalize(out, cfg.mean ?? IMAGENET_MEAN, cfg.std ?? IMAGENET_STD);
  };
}
