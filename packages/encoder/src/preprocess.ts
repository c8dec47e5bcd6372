import * as tf from '@tensorflow/tfjs-core';
import type { Frames } from '@iv2/core';

/** ImageNet statistics: every released InternVideo2 encoder normalises with these (architecture.md §1.1). */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export interface PreprocessOptions {
  /** Output side (square, as the official evaluation's direct resize); default 224. */
  size?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
}

/**
 * uint8 RGB frames `[T, H, W, 3]` → float32 `[1, 3, T, size, size]`: bilinear resize with half-pixel centres
 * (as cv2.resize in the official demo), /255, then (x − mean)/std.
 */
export function preprocessFrames(frames: Frames, opts: PreprocessOptions = {}): tf.Tensor5D {
  const size = opts.size ?? 224;
  const mean = opts.mean ?? IMAGENET_MEAN;
  const std = opts.std ?? IMAGENET_STD;
  return tf.tidy(() => {
    let x = tf.tensor4d(Float32Array.from(frames.data), [frames.count, frames.height, frames.width, 3]);
    if (frames.height !== size || frames.width !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
    x = tf.div(tf.sub(tf.div(x, 255), mean), std) as tf.Tensor4D;
    return tf.expandDims(tf.transpose(x, [3, 0, 1, 2]), 0) as tf.Tensor5D;
  });
}
