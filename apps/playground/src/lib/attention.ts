import * as tf from '@tensorflow/tfjs-core';
import { linear } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';

/**
 * The attention-pooling query's weights over the tokens, averaged over heads: `[B, M]` (what the official teacher
 * returns as `attn` and what drives attention-guided masking).
 */
export function poolAttention(model: InternVideo2, tokens: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const p = model.clipProjector;
    const ca = p.crossAttn;
    const [b, m, c] = tokens.shape;
    const h = ca.numHeads;
    const d = c / h;
    const q = linear(p.norm1Q.forward(tf.mean(tokens, 1, true)), ca.q.weight as tf.Tensor2D, ca.qBias as tf.Tensor1D);
    const k = linear(p.norm1K.forward(tokens), ca.k.weight as tf.Tensor2D, ca.kBias as tf.Tensor1D);
    const qh = tf.transpose(tf.reshape(q, [b, 1, h, d]), [0, 2, 1, 3]);
    const kh = tf.transpose(tf.reshape(k, [b, m, h, d]), [0, 2, 1, 3]);
    const a = tf.softmax(tf.matMul(tf.mul(qh, d ** -0.5), kh, false, true), -1);
    return tf.reshape(tf.mean(a, 1), [b, m]) as tf.Tensor2D;
  });
}
