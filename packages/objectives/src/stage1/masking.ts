import * as tf from '@tensorflow/tfjs-core';
import { gatherTokens } from '@iv2/core';
import type { Draws } from '../draws.js';
import { ObjectiveConfigError, TeacherOutputError } from '../errors.js';

/**
 * The attention-guided mask of the official stage-1 and distillation engines: each row of `attn` (`[R, N]`, the
 * teacher's pooling attention without its CLS column; one row per frame, or one per clip for the whole-video
 * mask of `run_distill.py`) is drawn without replacement with probability ∝ its weights; the first
 * `N − int(N·ratio)` draws stay visible. Rows are laid side by side per clip and a visible CLS column is put
 * first → bool `[B, 1 + (R/B)·N]`, true = masked.
 */
export async function attentionGuidedMask(
  attn: tf.Tensor2D,
  batch: number,
  maskRatio: number,
  draws: Draws,
  name = 'multinomial',
): Promise<tf.Tensor2D> {
  const [r, n] = attn.shape;
  if (r % batch) throw new TeacherOutputError('attn', `${r} rows do not split into ${batch} clips`);
  const nVis = n - Math.trunc(n * maskRatio);
  const importance = draws.multinomial(name, attn, n, false);
  const idx = await importance.data();
  importance.dispose();
  const perClip = (r / batch) * n;
  const out = new Uint8Array(batch * (1 + perClip));
  for (let row = 0; row < r; row++) {
    const b = Math.floor(row / (r / batch));
    const base = b * (1 + perClip) + 1 + (row % (r / batch)) * n;
    out.fill(1, base, base + n);
    for (let j = 0; j < nVis; j++) out[base + idx[row * n + j]] = 0;
  }
  return tf.tensor2d(out, [batch, 1 + perClip], 'bool');
}

/** The official `RandomMaskingGenerator` over `T·H·W` patches (`int(ratio·N)` masked per sample), CLS column first. */
export function randomMask(batch: number, numPatches: number, maskRatio: number, draws: Draws, name = 'video_mask'): tf.Tensor2D {
  checkRatio(maskRatio);
  return tf.tidy(() => withCls(draws.randomMask(name, batch, numPatches, Math.trunc(maskRatio * numPatches))));
}

/** The official `TubeMaskingGenerator`: one spatial mask per sample repeated over the `frames`, CLS column first. */
export function tubeMask(batch: number, frames: number, patchesPerFrame: number, maskRatio: number, draws: Draws, name = 'tube_mask'): tf.Tensor2D {
  checkRatio(maskRatio);
  return tf.tidy(() => {
    const m = draws.randomMask(name, batch, patchesPerFrame, Math.trunc(maskRatio * patchesPerFrame));
    return withCls(tf.reshape(tf.tile(m, [1, frames]), [batch, frames * patchesPerFrame]) as tf.Tensor2D);
  });
}

/** Prepends a visible (false) CLS column. */
export function withCls(mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.concat([tf.zeros([mask.shape[0], 1], 'bool'), tf.cast(mask, 'bool')], 1) as tf.Tensor2D);
}

/** `x[~mask]` for every leading slice: x `[K, B, N, C]`, visible int32 `[B, M]` → `[K, B, M, C]`. */
export function gatherVisible(x: tf.Tensor4D, visible: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [k, b, n, c] = x.shape;
    const m = visible.shape[1];
    const idx = tf.reshape(tf.tile(tf.expandDims(visible, 0), [k, 1, 1]), [k * b, m]) as tf.Tensor2D;
    const g = gatherTokens(tf.reshape(x, [k * b, n, c]) as tf.Tensor3D, idx);
    return tf.reshape(g, [k, b, m, c]) as tf.Tensor4D;
  });
}

function checkRatio(r: number): void {
  if (!(r >= 0 && r < 1)) throw new ObjectiveConfigError('mask_ratio', `${r} is not in [0, 1)`);
}
