import * as tf from '@tensorflow/tfjs-core';

/** x / max(‖x‖₂, eps) along `axis` (eps = 0: plain x / ‖x‖). */
export function l2NormalizeComposite(x: tf.Tensor, axis: number, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const n = tf.sqrt(tf.sum(tf.square(x), axis, true));
    return tf.div(x, eps > 0 ? tf.maximum(n, eps) : n);
  });
}
