// The additive 4-D mask of modeling_attn_mask_utils.py (v4.40.1) and of VideoChat2's LLaMA copy: 0 where a
// query may look, finfo(float32).min elsewhere. Causal over sequence columns (pads included), the inclusive
// sliding window (query column i sees i − w … i), then the padding columns of the 2-D mask.
import * as tf from '@tensorflow/tfjs-core';

/** torch.finfo(torch.float32).min */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * `[B, 1, N, W]` (W = P + N, or the cache's storage width) for `N` new queries after `P` cached columns. `mask2d`
 * `[B, W]` (1 = attend) or null for
 * all ones. A query row whose every column is masked gets finfo.min everywhere, so its softmax is uniform over all
 * columns, as in the official code.
 */
export function causalMask4d(
  mask2d: tf.Tensor | null,
  batch: number,
  n: number,
  past: number,
  slidingWindow: number | null,
  keyWidth = past + n,
): tf.Tensor4D {
  // Columns past P + N (unused cache storage) lie after every query: causality masks them.
  const nk = keyWidth;
  const band = new Float32Array(n * nk);
  for (let r = 0; r < n; r++) {
    const i = past + r;
    for (let j = 0; j < nk; j++) band[r * nk + j] = j <= i && (slidingWindow == null || j >= i - slidingWindow) ? 1 : 0;
  }
  return tf.tidy(() => {
    let allowed: tf.Tensor = tf.tensor4d(band, [1, 1, n, nk]);
    if (mask2d) allowed = tf.mul(allowed, tf.reshape(tf.cast(tf.greater(mask2d, 0), 'float32'), [batch, 1, 1, nk]));
    else if (batch > 1) allowed = tf.tile(allowed, [batch, 1, 1, 1]);
    return tf.mul(tf.sub(1, allowed), FLOAT32_MIN) as tf.Tensor4D;
  });
}
