import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { RmsNorm } from '../kernels/kernel_names.js';

/** RMSNorm over the last axis: w ⊙ x / sqrt(mean(x²) + eps). No mean subtraction, no bias. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D | null, eps = 1e-6): tf.Tensor {
  return tf.tidy(() => {
    const w = weight ?? tf.ones([x.shape[x.rank - 1]]);
    return tf.engine().runKernel(RmsNorm, { x, weight: w }, { eps } as never) as tf.Tensor;
  });
}
