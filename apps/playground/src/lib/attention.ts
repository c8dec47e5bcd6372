import * as tf from '@tensorflow/tfjs-core';
import { linear } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';

/**
 * The attention-pooling query's weights over the tokens `[B, M]` (CLS first): the query is the token mean, as in
 * the official `AttentionPoolingBlock`; `head` picks one head, otherwise the mean over heads (what the official
 * teacher returns as `attn` and what drives attention-guided masking).
 */
export function poolAttention(model: InternVideo2, tokens: tf.Tensor3D, head = -1): tf.Tensor2D {
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
    const sel = head >= 0 ? tf.slice(a, [0, head, 0, 0], [b, 1, 1, m]) : tf.mean(a, 1);
    return tf.reshape(sel, [b, m]) as tf.Tensor2D;
  });
}

/** The tokens entering block `i` (patch embedding + CLS + position table for block 0). */
function tokensBefore(model: InternVideo2, video: tf.Tensor5D, i: number): tf.Tensor3D {
  return tf.tidy(() => {
    if (i > 0) return model.forward(video, { tokensOnly: true, captureBlocks: [i - 1] }).hidden![0];
    const pe = model.patchEmbed.forward(video);
    const [b, t, l, C] = pe.shape;
    const x = tf.concat([tf.tile(model.clsToken, [b, 1, 1]), tf.reshape(pe, [b, t * l, C])], 1);
    return tf.add(x, model.posEmbed) as tf.Tensor3D;
  });
}

/**
 * Self-attention of block `block` (official `Attention`: fused qkv, QK RMSNorm before the head split, scaled
 * softmax), the CLS query's row over all tokens `[B, M]`, for head `head` or averaged over heads (−1).
 */
export function blockAttention(model: InternVideo2, video: tf.Tensor5D, block: number, head = -1): tf.Tensor2D {
  if (!Number.isInteger(block) || block < 0 || block >= model.config.depth) throw new RangeError(`block ${block}: the model has blocks 0…${model.config.depth - 1}`);
  return tf.tidy(() => {
    const blk = model.blocks.at(block);
    const x = blk.norm1.forward(tokensBefore(model, video, block)) as tf.Tensor3D;
    const at = blk.attn;
    const [b, n, c] = x.shape;
    const h = at.numHeads;
    if (head >= h) throw new RangeError(`head ${head}: block ${block} has heads 0…${h - 1}`);
    const d = c / h;
    let [q, k] = tf.split(at.qkv.forward(x), 3, -1);
    if (at.qNorm) q = at.qNorm.forward(q);
    if (at.kNorm) k = at.kNorm.forward(k);
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, n, h, d]), [0, 2, 1, 3]);
    const q0 = tf.slice(heads(q), [0, 0, 0, 0], [b, h, 1, d]);
    const a = tf.softmax(tf.matMul(tf.mul(q0, d ** -0.5), heads(k), false, true), -1);
    const sel = head >= 0 ? tf.slice(a, [0, head, 0, 0], [b, 1, 1, n]) : tf.mean(a, 1);
    return tf.reshape(sel, [b, n]) as tf.Tensor2D;
  });
}

/**
 * Splits a `[M]` attention row (CLS first) into one `grid × grid` map per input frame, CLS dropped. With
 * `tubelet` > 1 a token spans that many frames, so the frames of one tubelet share its map.
 */
export function perFrameMaps(row: Float32Array, numFrames: number, grid: number, tubelet = 1): Float32Array[] {
  const per = grid * grid;
  if ((row.length - 1) !== (numFrames / tubelet) * per) throw new RangeError(`attention row of ${row.length} does not hold ${numFrames / tubelet} token times of ${grid}×${grid} and CLS`);
  return Array.from({ length: numFrames }, (_, f) => {
    const t = Math.floor(f / tubelet);
    return row.slice(1 + t * per, 1 + (t + 1) * per);
  });
}
