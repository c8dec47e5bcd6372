import * as tf from '@tensorflow/tfjs-core';

/** softmax(scale·q·kᵀ + mask)·v; `mask` is additive and broadcastable to the scores. */
export function attentionProbs(q: tf.Tensor, k: tf.Tensor, scale: number, mask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let s = tf.matMul(tf.mul(q, scale), k, false, true);
    if (mask) s = tf.add(s, mask);
    return tf.softmax(s, -1);
  });
}

export function attentionComposite(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.matMul(attentionProbs(q, k, scale, mask), v));
}
