import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { L2Normalize } from '../kernels/kernel_names.js';

/**
 * x / max(‖x‖₂, eps) along `axis`. eps = 0 is the official decoders' plain `x / ‖x‖`; eps = 1e-12 is
 * `F.normalize`.
 */
export function l2Normalize(x: tf.Tensor, axis = -1, eps = 0): tf.Tensor {
  return tf.engine().runKernel(L2Normalize, { x }, { axis, eps } as never) as tf.Tensor;
}
