import * as tf from '@tensorflow/tfjs-core';
import { SoftCrossEntropy } from '../kernels/kernel_names.js';

/**
 * L = −(1/B) Σ_b Σ_j t_bj · log_softmax(z)_bj: dL/dz = (softmax(z)·Σ_j t_bj − t) / B and dL/dt = −log_softmax(z) / B
 * (targets need not sum to 1 for these to hold).
 */
export const softCrossEntropyGradConfig: tf.GradConfig = {
  kernelName: SoftCrossEntropy,
  inputsToSave: ['logits', 'targets'],
  gradFunc: (dy, saved) => {
    const [logits, targets] = saved;
    const rows = logits.shape[0];
    const scale = () => tf.div(dy as tf.Tensor, rows);
    return {
      logits: () =>
        tf.tidy(() => tf.mul(tf.sub(tf.mul(tf.softmax(logits, -1), tf.sum(targets, -1, true)), targets), scale())),
      targets: () => tf.tidy(() => tf.mul(tf.neg(tf.logSoftmax(logits, -1)), scale())),
    };
  },
};
