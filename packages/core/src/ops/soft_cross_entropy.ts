import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { SoftCrossEntropy } from '../kernels/kernel_names.js';

/** Mean over rows of −Σ_j targets_ij · log_softmax(logits)_ij (targets are soft, rows sum to 1). */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.engine().runKernel(SoftCrossEntropy, { logits, targets }, {}) as tf.Scalar;
}
