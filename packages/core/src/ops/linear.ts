import * as tf from '@tensorflow/tfjs-core';

/**
 * y = x·W + b over the last axis. `weight` is in tfjs layout `[in, out]` (PyTorch's `[out, in]` is transposed
 * once, at the state-dict boundary: see nn/layout.ts).
 */
export function linear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D | null): tf.Tensor {
  return tf.tidy(() => {
    const [inDim, outDim] = weight.shape;
    const lead = x.shape.slice(0, -1);
    const y = tf.matMul(tf.reshape(x, [-1, inDim]), weight);
    const yb = bias ? tf.add(y, bias) : y;
    return tf.reshape(yb, [...lead, outDim]);
  });
}
