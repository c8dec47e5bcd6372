import * as tf from '@tensorflow/tfjs-core';

/** out[b, i] = x[b, index[b, i]] for x `[B, N, C]` and int32 index `[B, K]` → `[B, K, C]`. */
export function gatherTokens(x: tf.Tensor3D, index: tf.Tensor2D): tf.Tensor3D {
  // A flat gather over [B·N, C]: tfjs-wasm's batched GatherV2 returns wrong rows (seen with batch_dims = 1).
  return tf.tidy(() => {
    const [b, n, c] = x.shape;
    const k = index.shape[1];
    const rowBase = tf.mul(tf.reshape(tf.range(0, b, 1, 'int32'), [b, 1]), tf.scalar(n, 'int32'));
    const flat = tf.reshape(tf.add(index, rowBase), [b * k]);
    return tf.reshape(tf.gather(tf.reshape(x, [b * n, c]), flat, 0), [b, k, c]) as tf.Tensor3D;
  });
}

/** The inverse of {@link gatherTokens}: `[B, K, C]` placed at rows `index` of a zero `[B, n, C]`. */
export function scatterTokens(updates: tf.Tensor3D, index: tf.Tensor2D, n: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, k, c] = updates.shape;
    const rowBase = tf.mul(tf.reshape(tf.range(0, b, 1, 'int32'), [b, 1]), tf.scalar(n, 'int32'));
    const flatIdx = tf.reshape(tf.add(index, rowBase), [b * k]) as tf.Tensor1D;
    const out = tf.unsortedSegmentSum(tf.reshape(updates, [b * k, c]), flatIdx, b * n);
    return tf.reshape(out, [b, n, c]) as tf.Tensor3D;
  });
}

/**
 * Indices (ascending, int32 `[B, K]`) of the visible tokens of a boolean mask `[B, N]` (true = masked). Every
 * row must keep the same number of tokens, as in the official `x[~mask].reshape(B, -1, C)`.
 */
export async function visibleIndices(mask: tf.Tensor2D): Promise<tf.Tensor2D> {
  const [b, n] = mask.shape;
  const m = await mask.data();
  const rows: number[][] = [];
  for (let i = 0; i < b; i++) {
    const r: number[] = [];
    for (let j = 0; j < n; j++) if (!m[i * n + j]) r.push(j);
    rows.push(r);
  }
  const k = rows[0]?.length ?? 0;
  if (rows.some((r) => r.length !== k)) {
    throw new RangeError(`mask: every sample must keep the same number of tokens, got ${rows.map((r) => r.length).join(', ')}`);
  }
  return tf.tensor2d(rows.flat(), [b, k], 'int32');
}
