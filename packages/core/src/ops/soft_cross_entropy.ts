import * as tf from '@tensorflow/tfjs-core';

/** Mean over rows of −Σ_j targets_ij · log_softmax(logits)_ij (targets are soft, rows sum to 1). */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits, -1)), -1))) as tf.Scalar);
}
