import * as tf from '@tensorflow/tfjs-core';
import type { AdamWUpdateAttrs } from '../kernel_names.js';

/** torch.optim.AdamW's update as tfjs ops (the reference the fused kernels equal bit for bit). */
export function adamwUpdateComposite(p: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamWUpdateAttrs): tf.Tensor[] {
  return tf.tidy(() => {
    const g = a.gradScale !== 1 ? tf.mul(grad, a.gradScale) : grad;
    const decayed = a.weightDecay ? tf.mul(p, 1 - a.lr * a.weightDecay) : p;
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(a.bc2)), a.eps);
    const p1 = tf.sub(decayed, tf.mul(tf.div(m1, denom), a.lr / a.bc1));
    return [p1, m1, v1];
  });
}

/**
 * The same update as one loop over float32 arrays, for backends whose tensors live in JavaScript-visible memory
 * (cpu, wasm). Every operation is rounded to float32 as the composite's kernels round it, so both give the same
 * bits; one pass instead of thirteen kernels per parameter, which in a small model's step cost more than the maths.
 */
export function adamwUpdateLoop(p: ArrayLike<number>, g: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>,
  op: Float32Array, om: Float32Array, ov: Float32Array, a: AdamWUpdateAttrs): void {
  const f = Math.fround;
  const scaled = a.gradScale !== 1;
  const gs = f(a.gradScale);
  const decay = a.weightDecay !== 0;
  const sd = f(1 - a.lr * a.weightDecay);
  const b1 = f(a.beta1);
  const c1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const c2 = f(1 - a.beta2);
  const sbc2 = f(Math.sqrt(a.bc2));
  const eps = f(a.eps);
  const step = f(a.lr / a.bc1);
  const n = op.length;
  for (let i = 0; i < n; i++) {
    const gi = scaled ? f(g[i] * gs) : g[i];
    const m1 = f(f(m[i] * b1) + f(gi * c1));
    const v1 = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    const den = f(f(f(Math.sqrt(v1)) / sbc2) + eps);
    const dec = decay ? f(p[i] * sd) : p[i];
    op[i] = dec - f(f(m1 / den) * step);
    om[i] = m1;
    ov[i] = v1;
  }
}
