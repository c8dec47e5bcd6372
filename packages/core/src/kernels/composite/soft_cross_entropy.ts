import * as tf from '@tensorflow/tfjs-core';

/** Mean over rows of −Σ_j targets_ij · log_softmax(logits)_ij. */
export function softCrossEntropyComposite(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits, -1)), -1))));
}
