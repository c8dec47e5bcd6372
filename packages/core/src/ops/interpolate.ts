import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { InterpolateBicubic2d, InterpolateLinear1d } from '../kernels/kernel_names.js';

export { bicubicWeights, linearWeights } from '../kernels/composite/interpolate.js';

/** 1-D linear resize of `axis` to `size` with PyTorch's align_corners=False semantics. */
export function interpolateLinear1d(x: tf.Tensor, size: number, axis = -1): tf.Tensor {
  return tf.engine().runKernel(InterpolateLinear1d, { x }, { size, axis } as never) as tf.Tensor;
}

/** Bicubic resize of `x` `[B, H, W, C]` to `[B, size[0], size[1], C]` with PyTorch's semantics (A = −0.75). */
export function interpolateBicubic2d(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  return tf.engine().runKernel(InterpolateBicubic2d, { x }, { size } as never) as tf.Tensor4D;
}
