import * as tf from '@tensorflow/tfjs-core';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluComposite(x: tf.Tensor, approximate: 'none' | 'tanh'): tf.Tensor {
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.mul(tf.square(x), x))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    }
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  });
}

/** dGELU/dx. */
export function geluDerivative(x: tf.Tensor, approximate: 'none' | 'tanh'): tf.Tensor {
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const x2 = tf.square(x);
      const t = tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.mul(x2, x)))));
      const dt = tf.mul(tf.sub(1, tf.square(t)), tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * 0.044715, x2))));
      return tf.add(tf.mul(0.5, tf.add(1, t)), tf.mul(tf.mul(0.5, x), dt));
    }
    const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(x))));
    return tf.add(cdf, tf.mul(x, pdf));
  });
}
