import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { gatherTokens, initBackend } from '../../src/index.js';

// Values are checked against PyTorch in the conformance table (gatherTokens, scatterTokens, conv2d cases); this
// checks that the wasm kernels are the dedicated ones and stay linear in memory at training sizes.
test('wasm UnsortedSegmentSum is one pass on the heap: no one-hot matrix, ids out of range dropped', async () => {
  await initBackend('wasm');
  // 16384 gathered rows into 65536 segments: a one-hot product would need a 4 GiB matrix.
  const n = 16384;
  const segments = 65536;
  const ids = tf.tensor1d(Array.from({ length: n }, (_, i) => (i === 0 ? -1 : i === 1 ? segments : (i * 7) % segments)), 'int32');
  const x = tf.ones([n, 4]);
  const p = await tf.profile(async () => {
    const y = tf.unsortedSegmentSum(x, ids, segments);
    const total = tf.sum(y);
    expect((await total.data())[0]).toBe((n - 2) * 4);
    tf.dispose([y, total]);
  });
  expect(p.kernelNames).toEqual(['UnsortedSegmentSum', 'Sum']);
  tf.dispose([ids, x]);
});

test('gatherTokens has a gradient on wasm (masked-token training)', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([2, 1024, 64]) as tf.Tensor3D;
  const index = tf.tensor2d([...Array(256).keys(), ...Array.from({ length: 256 }, (_, i) => 1023 - i)], [2, 256], 'int32');
  const g = tf.grad((t: tf.Tensor) => tf.sum(gatherTokens(t as tf.Tensor3D, index)))(x);
  const s = tf.sum(g);
  // Every visible token's row gets a 1 per channel, masked ones 0.
  expect((await s.data())[0]).toBe(2 * 256 * 64);
  tf.dispose([x, index, g, s]);
  expect(tf.memory().numTensors).toBe(before);
});
