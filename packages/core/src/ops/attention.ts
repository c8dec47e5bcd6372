import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { Attention } from '../kernels/kernel_names.js';

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

/**
 * softmax(scale·q·kᵀ + mask)·v with q `[B, H, Nq, D]`, k and v `[B, H, Nk, D]` (self or cross attention), one
 * fused kernel (`IV2Attention`) with its own gradient. Boolean and causal masks become an additive mask here.
 */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const scale = opts.scale ?? 1 / Math.sqrt(q.shape[3]);
    let mask: tf.Tensor | null = null;
    if (opts.mask) mask = opts.mask.dtype === 'bool' ? tf.where(opts.mask, 0, -Infinity) : opts.mask;
    if (opts.causal) {
      const [nq, nk] = [q.shape[2], k.shape[2]];
      // Built on the host: tfjs-wasm's bandPart on bool tensors returns wrong rows.
      const data = new Float32Array(nq * nk);
      for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) data[i * nk + j] = j <= i + nk - nq ? 0 : -Infinity;
      const band = tf.tensor2d(data, [nq, nk]);
      mask = mask ? tf.add(mask, band) : band;
    }
    return tf.engine().runKernel(Attention, { q, k, v, mask: mask ?? tf.scalar(0) }, { scale } as never) as tf.Tensor4D;
  });
}
