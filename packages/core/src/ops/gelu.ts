import * as tf from '@tensorflow/tfjs-core';

export type GeluApproximate = 'none' | 'tanh';

/**
 * GELU. `'none'` is the exact erf form (the official fp32 path); `'tanh'` is the approximation the
 * released weights were trained with (flash-attn's fused MLP).
 */
export function gelu(x: tf.Tensor, approximate: GeluApproximate = 'none'): tf.Tensor {
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    }
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  });
}
