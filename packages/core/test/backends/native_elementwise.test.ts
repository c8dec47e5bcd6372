import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { describeNative, initBackend, wasmElementwiseCounts } from '../../src/index.js';
import { collapseBroadcast } from '../../src/kernels/wasm/elementwise.js';
// @ts-expect-error plain JavaScript build helper of @iv2/native
import { missingBuildTools } from '../../../native/scripts/build_addon.mjs';

const canBuild = (missingBuildTools() as string[]).length === 0;

// The broadcasts the models and their gradients run (norm weights, per-row statistics, scalars from AdamW and the
// GELU gradient), long rows cut into pieces, and odd shapes.
const BINARY_SHAPES: Array<[number[], number[]]> = [
  [[2, 5, 7], [2, 5, 7]], [[], [3, 70000]], [[3, 70000], []], [[2, 5, 7], [7]], [[2, 5, 7], [2, 5, 1]], [[2, 1, 7], [2, 5, 1]],
  [[4, 1, 3, 1], [1, 6, 1, 5]], [[1], [1]], [[], []], [[300, 257], [300, 1]], [[1, 1, 9], [4, 3, 1]], [[5, 0, 3], [3]],
];
const BINARY = ['add', 'sub', 'mul', 'div', 'squaredDifference', 'maximum', 'minimum'] as const;
const UNARY: Array<[string, (x: tf.Tensor) => tf.Tensor, number]> = [
  ['exp', (x) => tf.exp(tf.mul(x, 30)), 0], ['erf', tf.erf, 5e-7], ['square', tf.square, 0], ['sqrt', (x) => tf.sqrt(tf.abs(x)), 0],
  ['rsqrt', (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1)), 0], ['neg', tf.neg, 0], ['abs', tf.abs, 0], ['reciprocal', (x) => tf.reciprocal(tf.add(tf.abs(x), 0.5)), 0],
  ['identity', (x) => tf.clone(x), 0],
];
const REDUCE: Array<[number[], number | number[], boolean]> = [
  [[5, 300], -1, false], [[300, 70], 0, false], [[2, 40, 3, 5], [1, 2], true], [[4, 6], [0, 1], false], [[3, 4, 5], 1, true],
  [[3, 4, 5], [0, 2], false], [[7], 0, false], [[2, 0, 3], 2, false],
];

function compute(): number[][] {
  const out: number[][] = [];
  BINARY_SHAPES.forEach(([sa, sb], i) => {
    for (const op of BINARY) {
      out.push(tf.tidy(() => [...(tf[op](tf.randomNormal(sa, 0, 1, 'float32', i + 1), tf.randomNormal(sb, 0, 1, 'float32', 50 + i)).dataSync())]));
    }
  });
  for (const [, fn] of UNARY) out.push(tf.tidy(() => [...fn(tf.randomNormal([3, 50000], 0, 1, 'float32', 7)).dataSync()]));
  REDUCE.forEach(([shape, axis, keep], i) => {
    for (const op of ['sum', 'mean'] as const) {
      out.push(tf.tidy(() => {
        const y = tf[op](tf.randomNormal(shape, 0, 1, 'float32', 90 + i), axis, keep);
        return [...y.dataSync(), ...y.shape];
      }));
    }
  });
  return out;
}

describe('@iv2/native element-wise kernels on wasm', () => {
  test('collapsing broadcast axes keeps each operand\'s stepping', () => {
    expect(collapseBroadcast([2, 5, 7], [2, 5, 7], [2, 5, 7])).toEqual({ shape: [70], sa: [1], sb: [1] });
    expect(collapseBroadcast([1025, 768], [1025, 1], [1025, 768])).toEqual({ shape: [1025, 768], sa: [768, 1], sb: [1, 0] });
    expect(collapseBroadcast([], [3, 4], [3, 4])).toEqual({ shape: [12], sa: [0], sb: [1] });
    expect(collapseBroadcast([4, 1, 3, 1], [1, 6, 1, 5], [4, 6, 3, 5])).toEqual({ shape: [4, 6, 3, 5], sa: [3, 0, 1, 0], sb: [0, 5, 0, 1] });
    expect(collapseBroadcast([], [], [])).toEqual({ shape: [1], sa: [0], sb: [0] });
  });

  test.skipIf(!canBuild)('arithmetic with broadcasting, unary math and sums match the cpu backend, and leak nothing', async () => {
    await initBackend('cpu');
    const ref = compute();
    await initBackend('wasm', { native: true });
    expect(describeNative().active).toBe(true);
    const before = { ...wasmElementwiseCounts };
    const n0 = tf.memory().numTensors;
    const got = compute();
    expect(tf.memory().numTensors).toBe(n0);
    expect(wasmElementwiseCounts.native - before.native).toBeGreaterThan(BINARY_SHAPES.length * BINARY.length);
    const tol = [...Array(BINARY_SHAPES.length * BINARY.length).fill(1e-6), ...UNARY.map(([, , t]) => Math.max(t, 3e-7)), ...Array(2 * REDUCE.length).fill(2e-5)];
    const names = [...BINARY_SHAPES.flatMap(([a, b]) => BINARY.map((op) => `${op} [${a}] [${b}]`)), ...UNARY.map(([n]) => n), ...REDUCE.flatMap(([s, ax, k]) => [`sum [${s}] ${ax} ${k}`, `mean [${s}] ${ax} ${k}`])];
    ref.forEach((r, i) => {
      expect(got[i].length, names[i]).toBe(r.length);
      const err = r.reduce((m, x, j) => (Object.is(x, got[i][j]) || (Number.isNaN(x) && Number.isNaN(got[i][j])) ? m : Math.max(m, Math.abs(got[i][j] - x) / Math.max(1, Math.abs(x)))), 0);
      expect(err, names[i]).toBeLessThanOrEqual(tol[i]);
    });
  });

  test.skipIf(!canBuild)('other dtypes and an inactive addon run tfjs-wasm\'s kernels', async () => {
    await initBackend('wasm', { native: true });
    const before = { ...wasmElementwiseCounts };
    expect([...tf.tidy(() => tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32'))).dataSync()]).toEqual([4, 6]);
    expect(wasmElementwiseCounts.builtin).toBeGreaterThan(before.builtin);
    await initBackend('wasm', { native: false });
    const n = wasmElementwiseCounts.native;
    expect([...tf.tidy(() => tf.mul(tf.tensor1d([1, 2]), 3)).dataSync()]).toEqual([3, 6]);
    expect(wasmElementwiseCounts.native).toBe(n);
  });
});
