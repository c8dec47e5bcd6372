import * as tf from '@tensorflow/tfjs-core';
import { attentionProbs } from '../kernels/composite/attention.js';
import { Attention, type AttentionAttrs } from '../kernels/kernel_names.js';
import { reduceTo } from './reduce_to.js';

/**
 * With p = softmax(s), s = scale·q·kᵀ + mask, o = p·v (p is recomputed, not stored):
 * dv = pᵀ·do; ds = p ⊙ (do·vᵀ − rowsum(do·vᵀ ⊙ p)); dq = scale·ds·k; dk = scale·dsᵀ·q; dmask = Σ ds
 * (reduced to the mask's shape; the op passes a zero scalar when there is no mask).
 */
export const attentionGradConfig: tf.GradConfig = {
  kernelName: Attention,
  inputsToSave: ['q', 'k', 'v', 'mask'],
  gradFunc: (dy, saved, attrs) => {
    const [q, k, v, mask] = saved;
    const { scale } = attrs as unknown as AttentionAttrs;
    const dO = dy as tf.Tensor;
    // The engine runs each input's gradient in its own scope, so ds cannot be shared between them: recompute it.
    const ds = () =>
      tf.tidy(() => {
        const p = attentionProbs(q, k, scale, mask);
        const dp = tf.matMul(dO, v, false, true);
        return tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
      });
    return {
      q: () => tf.tidy(() => tf.mul(tf.matMul(ds(), k), scale)),
      k: () => tf.tidy(() => tf.mul(tf.matMul(ds(), q, true, false), scale)),
      v: () => tf.tidy(() => tf.matMul(attentionProbs(q, k, scale, mask), dO, true, false)),
      mask: () => tf.tidy(() => reduceTo(ds(), mask.shape)),
    };
  },
};
