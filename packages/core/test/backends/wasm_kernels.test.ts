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

test('wasm SplitV copies row blocks on the heap (no Slice kernels) and matches cpu for every axis and dtype', async () => {
  const cases: Array<[number[], number | number[], number]> = [[[2, 5, 12], 3, -1], [[2, 5, 12], [2, 7, 3], 2], [[6, 4], 2, 0], [[3, 4, 5], [1, 3], 1]];
  await initBackend('cpu');
  const data = cases.map(([s], i) => tf.tidy(() => tf.randomNormal(s, 0, 1, 'float32', i + 1).arraySync()));
  const ref = cases.map(([, n, a], i) => tf.tidy(() => tf.split(tf.tensor(data[i] as number[]), n, a).map((t) => t.arraySync())));
  await initBackend('wasm');
  const n0 = tf.memory().numTensors;
  for (const [i, [, n, a]] of cases.entries()) {
    const x = tf.tensor(data[i] as number[]);
    const p = await tf.profile(() => tf.split(x, n, a));
    expect(p.kernelNames.filter((k) => k === 'Slice')).toEqual([]);
    expect((p.result as tf.Tensor[]).map((t) => t.arraySync())).toEqual(ref[i]);
    tf.dispose([x, ...(p.result as tf.Tensor[])]);
  }
  const xi = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
  const ints = tf.split(xi, [1, 2], 1);
  expect(ints.map((t) => [t.dtype, t.arraySync()])).toEqual([['int32', [[1], [4]]], ['int32', [[2, 3], [5, 6]]]]);
  tf.dispose([xi, ...ints]);
  expect(tf.memory().numTensors).toBe(n0);
});
