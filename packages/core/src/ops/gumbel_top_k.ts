import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random/rng.js';

/**
 * Draws k indices per row without replacement with probability ∝ `weights` (`[R, N]`, non-negative), as
 * torch.multinomial(weights, k, replacement=False): the k largest of log(w) − log(−log(u)). Returns int32
 * `[R, k]` in draw order.
 */
export function gumbelTopK(weights: tf.Tensor2D, k: number, rng: Rng): tf.Tensor2D {
  return tf.tidy(() => {
    const u = tf.clipByValue(rng.uniformTensor(weights.shape), 1e-12, 1 - 1e-7);
    const keys = tf.sub(tf.log(weights), tf.log(tf.neg(tf.log(u))));
    return tf.topk(keys, k, true).indices as tf.Tensor2D;
  });
}
