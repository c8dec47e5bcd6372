import * as tf from '@tensorflow/tfjs-core';
import { reduceTo } from '../../gradients/reduce_to.js';
import type { AttentionGradOutput } from '../kernel_names.js';
import { attentionProbs } from './attention.js';

/**
 * One input's gradient of attention. With p = softmax(scale·q·kᵀ + mask): dv = pᵀ·dy;
 * ds = p ⊙ (dy·vᵀ − rowsum(dy·vᵀ ⊙ p)); dq = scale·ds·k; dk = scale·dsᵀ·q; dmask = ds summed to the mask's shape.
 */
export function attentionGradComposite(
  q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, dy: tf.Tensor, scale: number, output: AttentionGradOutput,
): tf.Tensor {
  return tf.tidy(() => {
    const p = attentionProbs(q, k, scale, mask);
    if (output === 'dv') return tf.matMul(p, dy, true, false);
    const dp = tf.matMul(dy, v, false, true);
    const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
    if (output === 'dq') return tf.mul(tf.matMul(ds, k), scale);
    if (output === 'dk') return tf.mul(tf.matMul(ds, q, true, false), scale);
    return reduceTo(ds, mask.shape);
  });
}
