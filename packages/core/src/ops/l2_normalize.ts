import * as tf from '@tensorflow/tfjs-core';

/**
 * x / max(‖x‖₂, eps) along `axis`. eps = 0 is the official decoders' plain `x / ‖x‖`; eps = 1e-12 is
 * `F.normalize`.
 */
export function l2Normalize(x: tf.Tensor, axis = -1, eps = 0): tf.Tensor {
  return tf.tidy(() => {
    const n = tf.sqrt(tf.sum(tf.square(x), axis, true));
    return tf.div(x, eps > 0 ? tf.maximum(n, eps) : n);
  });
}
