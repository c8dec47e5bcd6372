import * as tf from '@tensorflow/tfjs-core';

/**
 * How a parameter is stored in tfjs versus PyTorch. This is the one place where layouts are converted:
 * - `linear`: PyTorch `[out, in]`, tfjs `[in, out]` (so `x·W` needs no transpose);
 * - `conv3d`: PyTorch `[out, in, kT, kH, kW]`, tfjs `[kT, kH, kW, in, out]`;
 * - `none`: identical.
 */
export type ParamLayout = 'none' | 'linear' | 'conv3d';

const TO_TFJS: Record<Exclude<ParamLayout, 'none'>, number[]> = { linear: [1, 0], conv3d: [2, 3, 4, 1, 0] };
const TO_TORCH: Record<Exclude<ParamLayout, 'none'>, number[]> = { linear: [1, 0], conv3d: [4, 3, 0, 1, 2] };

export function torchShapeToTfjs(shape: number[], layout: ParamLayout): number[] {
  return layout === 'none' ? [...shape] : TO_TFJS[layout].map((i) => shape[i]);
}

export function tfjsShapeToTorch(shape: number[], layout: ParamLayout): number[] {
  return layout === 'none' ? [...shape] : TO_TORCH[layout].map((i) => shape[i]);
}

/** A PyTorch-layout tensor in tfjs layout (a new tensor; the input is not disposed). */
export function fromTorchLayout(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  return layout === 'none' ? tf.clone(t) : tf.transpose(t, TO_TFJS[layout]);
}

/** A tfjs-layout tensor in PyTorch layout (a new tensor). */
export function toTorchLayout(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  return layout === 'none' ? tf.clone(t) : tf.transpose(t, TO_TORCH[layout]);
}
