import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { Linear } from '../kernels/kernel_names.js';

/**
 * y = x·W + b over the last axis. `weight` is in tfjs layout `[in, out]` (PyTorch's `[out, in]` is transposed
 * once, at the state-dict boundary: see nn/layout.ts).
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D | null): tf.Tensor {
  return tf.tidy(() => {
    const hasBias = bias != null;
    return tf.engine().runKernel(Linear, { x, weight, bias: bias ?? tf.scalar(0) }, { hasBias } as never) as tf.Tensor;
  });
}
