import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { GatherTokens, ScatterTokens } from '../kernels/kernel_names.js';

/** out[b, i] = x[b, index[b, i]] for x `[B, N, C]` and int32 index `[B, K]` → `[B, K, C]`. */
export function gatherTokens(x: tf.Tensor3D, index: tf.Tensor2D): tf.Tensor3D {
  return tf.engine().runKernel(GatherTokens, { x, index }, {}) as tf.Tensor3D;
}

/** The inverse of {@link gatherTokens}: `[B, K, C]` placed at rows `index` of a zero `[B, n, C]`. */
export function scatterTokens(updates: tf.Tensor3D, index: tf.Tensor2D, n: number): tf.Tensor3D {
  return tf.engine().runKernel(ScatterTokens, { updates, index }, { n } as never) as tf.Tensor3D;
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
