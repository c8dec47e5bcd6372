import * as tf from '@tensorflow/tfjs-core';

/** y = x·W (+ b) over the last axis, W in tfjs layout `[in, out]`. */
export function linearComposite(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const [inDim, outDim] = weight.shape;
    const y = tf.matMul(tf.reshape(x, [-1, inDim]), weight);
    return tf.reshape(bias ? tf.add(y, bias) : y, [...x.shape.slice(0, -1), outDim]);
  });
}
