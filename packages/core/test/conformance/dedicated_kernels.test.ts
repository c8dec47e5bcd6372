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
  const cases: Array<[string, () => tf.Tensor]> = [
    ['IV2RmsNorm', () => rmsNorm(x, w)],
    ['IV2LayerNorm', () => layerNorm(x, w, w)],
    ['IV2Gelu', () => gelu(x, 'tanh')],
    ['IV2Attention', () => attention(q, q, q)],
  ];
  for (const [kernel, f] of cases) {
    const p = await tf.profile(async () => {
      const y = f();
      await y.data();
      y.dispose();
    });
    expect(p.kernelNames.filter((k) => k !== 'Reshape')).toEqual([kernel]);
  }
  // Attention backward: the three WGSL passes, no BatchMatMul/Softmax from the composite.
  const p = await tf.profile(async () => {
    const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D)))([q, q, q]);
    await Promise.all(gs.map((g) => g.data()));
    tf.dispose(gs);
  });
  expect(p.kernelNames).toContain('IV2AttentionGrad');
  expect(p.kernelNames.filter((k) => k === 'BatchMatMul' || k === 'Softmax')).toEqual([]);
  tf.dispose([x, w, q]);
});
