import * as tf from '@tensorflow/tfjs-core';

/**
 * An additive attention mask as the WGSL programs read it: the flat mask buffer and, per score axis (batch,
 * head, query, key), its stride, 0 where the mask broadcasts. The scores are never materialised as
 * `[B, H, Nq, Nk]`: a key-padding mask `[B, 1, 1, Nk]` stays B·Nk floats.
 */
export interface MaskLayout {
  heads: number;
  strides: [number, number, number, number];
}

/** The flat mask and its layout, or null for the scalar "no mask" input. */
export function maskLayout(mask: tf.Tensor, heads: number): { flat: tf.Tensor; layout: MaskLayout } | null {
  if (mask.size === 1) return null;
  const shape = [1, 1, 1, 1, ...mask.shape].slice(-4);
  const strides = [0, 0, 0, 0] as MaskLayout['strides'];
  let s = 1;
  for (let a = 3; a >= 0; a--) {
    strides[a] = shape[a] === 1 ? 0 : s;
    s *= shape[a];
  }
  const flat = tf.reshape(mask.dtype === 'float32' ? mask : tf.cast(mask, 'float32'), [mask.size]);
  return { flat, layout: { heads, strides } };
}

export function maskKey(m: MaskLayout | null): string {
  return m ? `m${m.heads}_${m.strides.join('_')}` : 'nomask';
}

/**
 * WGSL `maskAt(bh, i, j)`: the mask's value at flat batch·head `bh`, query `i`, key `j`. −∞ (a boolean or causal
 * mask) is read as the lowest finite float, so the shader never computes with infinities: exp of a masked score
 * is exactly 0 all the same. A row with every key masked thus gets uniform weights, where PyTorch gives NaN.
 */
export function maskSnippet(m: MaskLayout | null): string {
  if (!m) return 'fn maskAt(bh : i32, i : i32, j : i32) -> f32 { return 0.0; }';
  const [sb, sh, sq, sk] = m.strides;
  return `fn maskAt(bh : i32, i : i32, j : i32) -> f32 {
      return max(getMask((bh / ${m.heads}) * ${sb} + (bh % ${m.heads}) * ${sh} + i * ${sq} + j * ${sk}), -3.402823e+38);
    }`;
}
