import * as tf from '@tensorflow/tfjs-core';

/** RMSNorm over the last axis: w ⊙ x / sqrt(mean(x²) + eps). No mean subtraction, no bias. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D | null, eps = 1e-6): tf.Tensor {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true);
    const y = tf.mul(x, tf.rsqrt(tf.add(ms, eps)));
    return weight ? tf.mul(y, weight) : y;
  });
}
