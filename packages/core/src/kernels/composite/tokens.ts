import * as tf from '@tensorflow/tfjs-core';

/** Flat row numbers b·n + index[b, i] of an int32 `[B, K]` index into `[B·n, C]`. */
function flatRows(index: tf.Tensor, n: number): tf.Tensor1D {
  const [b, k] = index.shape;
  const rowBase = tf.mul(tf.reshape(tf.range(0, b, 1, 'int32'), [b, 1]), tf.scalar(n, 'int32'));
  return tf.reshape(tf.add(index, rowBase), [b * k]) as tf.Tensor1D;
}

/** out[b, i] = x[b, index[b, i]] for x `[B, N, C]`. */
export function gatherTokensComposite(x: tf.Tensor, index: tf.Tensor): tf.Tensor {
  // A flat gather over [B·N, C]: tfjs-wasm's batched GatherV2 returns wrong rows (seen with batch_dims = 1).
  return tf.tidy(() => {
    const [b, n, c] = x.shape;
    return tf.reshape(tf.gather(tf.reshape(x, [b * n, c]), flatRows(index, n), 0), [b, index.shape[1] as number, c]);
  });
}

/** `[B, K, C]` placed at rows `index` of a zero `[B, n, C]` (repeated indices add up). */
export function scatterTokensComposite(updates: tf.Tensor, index: tf.Tensor, n: number): tf.Tensor {
  return tf.tidy(() => {
    const [b, k, c] = updates.shape;
    const out = tf.unsortedSegmentSum(tf.reshape(updates, [b * k, c]), flatRows(index, n), b * n);
    return tf.reshape(out, [b, n, c]);
  });
}
