import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { attention, gelu, initBackend, layerNorm, rmsNorm } from '../../src/index.js';

// The conformance table proves the numbers; this proves that on webgpu they come from the WGSL programs, not from
// the composite fallback (which would show its tfjs sub-kernels in the profile).
test('webgpu runs the dedicated WGSL kernels', async () => {
  await initBackend('webgpu');
  const x = tf.randomNormal([4, 64]);
  const w = tf.ones([64]) as tf.Tensor1D;
  const q = tf.randomNormal([1, 2, 8, 16]) as tf.Tensor4D;
  // Additive key-padding mask: the WGSL programs read it with broadcast strides.
  const keyMask = tf.tensor4d([0, 0, 0, 0, 0, 0, -1e9, -1e9], [1, 1, 1, 8]);
  const cases: Array<[string, () => tf.Tensor]> = [
    ['IV2RmsNorm', () => rmsNorm(x, w)],
    ['IV2LayerNorm', () => layerNorm(x, w, w)],
    ['IV2Gelu', () => gelu(x, 'tanh')],
    ['IV2Attention', () => attention(q, q, q)],
    ['IV2Attention', () => attention(q, q, q, { mask: keyMask })],
  ];
  for (const [kernel, f] of cases) {
    const p = await tf.profile(async () => {
      const y = f();
      await y.data();
      y.dispose();
    });
    expect(p.kernelNames.filter((k) => k !== 'Reshape')).toEqual([kernel]);
  }
  // Attention backward, with and without a mask: the three WGSL passes, no BatchMatMul/Softmax from the composite.
  for (const mask of [null, keyMask]) {
    const p = await tf.profile(async () => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, { mask }));
      const gs = tf.grads(f)([q, q, q]);
      await Promise.all(gs.map((g) => g.data()));
      tf.dispose(gs);
    });
    expect(p.kernelNames).toContain('IV2AttentionGrad');
    expect(p.kernelNames.filter((k) => k === 'BatchMatMul' || k === 'Softmax')).toEqual([]);
  }
  tf.dispose([x, w, q, keyMask]);
});

// tfjs caches compiled programs by input ranks, not shapes: two calls that differ only in the number of queries
// must still get programs with their own sizes (query rows are independent, so the shorter call is a prefix).
// Both calls have Nq ≠ Nk so that tfjs's own key parts (which inputs match the output shape) agree.
test('webgpu attention programs are not shared across query counts', async () => {
  await initBackend('webgpu');
  const k = tf.randomNormal([1, 2, 8, 16]) as tf.Tensor4D;
  const q = tf.randomNormal([1, 2, 6, 16]) as tf.Tensor4D;
  const q3 = tf.slice(q, [0, 0, 0, 0], [1, 2, 3, 16]) as tf.Tensor4D;
  const full = attention(q, k, k);
  const part = attention(q3, k, k);
  const prefix = tf.slice(full, [0, 0, 0, 0], [1, 2, 3, 16]);
  const diff = tf.max(tf.abs(tf.sub(part, prefix)));
  expect((await diff.data())[0]).toBeLessThan(1e-6);
  tf.dispose([k, q, q3, full, part, prefix, diff]);
});
