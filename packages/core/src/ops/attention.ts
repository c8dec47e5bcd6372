import * as tf from '@tensorflow/tfjs-core';

export interface AttentionOptions {
  /** Multiplies q before q·kᵀ; defaults to head_dim^(−1/2). */
  scale?: number;
  /**
   * Broadcastable to `[B, H, Nq, Nk]`. A float mask is added to the scores; a bool mask keeps `true`
   * positions and sets the others to −∞.
   */
  mask?: tf.Tensor | null;
  /** Query i sees keys 0…i + (Nk − Nq). */
  causal?: boolean;
}

/** softmax(scale·q·kᵀ + mask)·v with q `[B, H, Nq, D]`, k and v `[B, H, Nk, D]` (self or cross). */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const d = q.shape[3];
    const scale = opts.scale ?? 1 / Math.sqrt(d);
    let s = tf.matMul(tf.mul(q, scale), k, false, true);
    if (opts.mask) {
      s = opts.mask.dtype === 'bool' ? tf.where(opts.mask, s, tf.fill(s.shape, -Infinity)) : tf.add(s, opts.mask);
    }
    if (opts.causal) {
      const [nq, nk] = [q.shape[2], k.shape[2]];
      const band = tf.linalg.bandPart(tf.ones([nq, nk], 'bool'), -1, nk - nq);
      s = tf.where(band, s, tf.fill(s.shape, -Infinity));
    }
    return tf.matMul(tf.softmax(s, -1), v) as tf.Tensor4D;
  });
}
