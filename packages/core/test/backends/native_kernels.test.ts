import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, test } from 'vitest';
import { attention, describeBackend, describeNative, gelu, initBackend, layerNorm, linear, releaseAttentionStash, rmsNorm, wasmMatMulCounts } from '../../src/index.js';
// @ts-expect-error plain JavaScript build helper of @iv2/native
import { missingBuildTools } from '../../../native/scripts/build_addon.mjs';

// Where the build tools exist (CI installs them through the bootstrap) the addon must be there and used.
const canBuild = (missingBuildTools() as string[]).length === 0;

// Products the models and their gradients run: every transpose, batches with a shared right operand (linear
// layers), batched on both sides (attention), and tfjs's batch broadcasting.
const PRODUCTS: Array<[number[], number[], boolean, boolean]> = [
  [[5, 7], [7, 3], false, false], [[7, 5], [7, 3], true, false], [[5, 7], [3, 7], false, true], [[7, 5], [3, 7], true, true],
  [[2, 4, 5, 7], [7, 3], false, false], [[2, 4, 5, 7], [2, 4, 3, 7], false, true], [[6, 7, 5], [6, 7, 3], true, false],
  [[1, 5, 7], [4, 7, 3], false, false], [[2, 3, 5, 7], [3, 3, 7], false, true], [[3, 7, 5], [1, 7, 3], true, false],
];

async function reference(): Promise<number[][]> {
  await initBackend('cpu');
  return PRODUCTS.map(([sa, sb, ta, tb], i) =>
    tf.tidy(() => [...tf.matMul(tf.randomNormal(sa, 0, 1, 'float32', i + 1), tf.randomNormal(sb, 0, 1, 'float32', 100 + i), ta, tb).dataSync()]));
}

describe.each([false, true])('wasm matmuls (native %s)', (native) => {
  afterAll(() => releaseAttentionStash());

  test('every transpose and batch shape matches cpu, and none runs tfjs-wasm\'s scalar loop', async () => {
    const ref = await reference();
    await initBackend('wasm', { native });
    if (native && !describeNative().active && !canBuild) return; // no compiler here: the addon is genuinely absent
    expect(describeNative().active).toBe(native);
    const before = { ...wasmMatMulCounts };
    const n0 = tf.memory().numTensors;
    PRODUCTS.forEach(([sa, sb, ta, tb], i) => {
      const got = tf.tidy(() => tf.matMul(tf.randomNormal(sa, 0, 1, 'float32', i + 1), tf.randomNormal(sb, 0, 1, 'float32', 100 + i), ta, tb).dataSync());
      const err = ref[i].reduce((m, r, j) => Math.max(m, Math.abs(got[j] - r)), 0);
      expect(err, `${sa} × ${sb} ${ta} ${tb}`).toBeLessThan(1e-5);
    });
    expect(tf.memory().numTensors).toBe(n0);
    expect(wasmMatMulCounts.builtin).toBe(before.builtin);
    if (native) expect(wasmMatMulCounts.native).toBeGreaterThan(before.native);
    else expect(wasmMatMulCounts.xnnpack).toBeGreaterThan(before.xnnpack);
  });

  // tfjs-wasm's own kernel adds a rank-1 bias wrongly past the first row whenever it runs its scalar loop.
  test('fused matmul: transposes, batches, bias and activations', async () => {
    await initBackend('cpu');
    const args = () => [tf.randomNormal([2, 6, 4], 0, 1, 'float32', 1), tf.randomNormal([2, 5, 6], 0, 1, 'float32', 2), tf.randomNormal([5], 0, 1, 'float32', 3)] as const;
    const run = (act: 'relu' | 'elu' | 'linear' | 'sigmoid', ta: boolean) => tf.tidy(() => {
      const [a, b, bias] = args();
      return [...tf.fused.matMul({ a: ta ? a : tf.transpose(a, [0, 2, 1]), b, transposeA: ta, transposeB: true, bias, activation: act }).dataSync()];
    });
    const acts = [['relu', true], ['elu', true], ['linear', false], ['sigmoid', false]] as const;
    const ref = acts.map(([act, ta]) => run(act, ta));
    await initBackend('wasm', { native });
    acts.forEach(([act, ta], i) => {
      const got = run(act, ta);
      expect(got.reduce((m, x, j) => Math.max(m, Math.abs(x - ref[i][j])), 0), act).toBeLessThan(1e-5);
    });
  });
});

test('without the addon, wasm attention runs head by head on XNNPACK, forward and backward, no scalar loop', async () => {
  await initBackend('wasm', { native: false });
  const q = tf.randomNormal([2, 3, 40, 8]) as tf.Tensor4D;
  const mask = tf.randomNormal([2, 1, 40, 40]);
  const before = { ...wasmMatMulCounts };
  const n0 = tf.memory().numTensors;
  const p = await tf.profile(() => attention(q, q, q, { mask }));
  expect(wasmMatMulCounts.xnnpack - before.xnnpack).toBe(2 * 2 * 3);
  expect(wasmMatMulCounts.builtin).toBe(before.builtin);
  expect(p.kernelNames).not.toContain('BatchMatMul');
  tf.dispose(p.result as tf.Tensor);
  // Per head: the forward's two products; dq and dk recompute the scores, then dy·vᵀ and the product with k or q
  // (three each); dv recomputes the scores, then pᵀ·dy (two).
  const before2 = { ...wasmMatMulCounts };
  const g = await tf.profile(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, { mask }))([q, q, q]));
  expect(g.kernelNames.filter((k) => ['BatchMatMul', 'Softmax'].includes(k))).toEqual([]);
  expect(wasmMatMulCounts.xnnpack - before2.xnnpack).toBe(2 * 3 * (2 + 3 + 3 + 2));
  expect(wasmMatMulCounts.builtin).toBe(before2.builtin);
  tf.dispose(g.result as tf.Tensor[]);
  expect(tf.memory().numTensors).toBe(n0);
  tf.dispose([q, mask]);
});

describe('@iv2/native on the wasm backend', () => {
  test.skipIf(!canBuild)('initBackend(wasm) uses it by default and describeBackend says so; native: false and threads are honoured', async () => {
    await initBackend('wasm');
    const d = await describeBackend();
    expect(d.native).toMatchObject({ available: true, active: true });
    expect(d.native!.blas).toMatch(/OpenBLAS|Accelerate/);
    await initBackend('wasm', { native: { threads: 1 } });
    expect(describeNative().threads).toBe(1);
    await initBackend('wasm', { native: false });
    expect((await describeBackend()).native).toMatchObject({ available: true, active: false });
    await initBackend('wasm', { native: true });
    expect(describeNative().threads).toBeGreaterThanOrEqual(1);
  });

  test.skipIf(!canBuild)('attention forward and backward run the fused kernels: no BatchMatMul or Softmax, no leaks', async () => {
    await initBackend('wasm', { native: true });
    const q = tf.randomNormal([1, 2, 9, 8]) as tf.Tensor4D;
    const mask = tf.tensor4d([0, 0, 0, 0, 0, 0, 0, -Infinity, -Infinity], [1, 1, 1, 9]);
    const n0 = tf.memory().numTensors;
    const p = await tf.profile(async () => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, { mask }))([q, q, q]);
      await Promise.all(g.map((x) => x.data()));
      tf.dispose(g);
    });
    const names = p.kernelNames.filter((k) => !['Reshape', 'Identity', 'Fill', 'OnesLike', 'Add', 'AddN', 'Cast'].includes(k));
    expect(names).toContain('IV2Attention');
    expect(names).toContain('IV2AttentionGrad');
    expect(names.filter((k) => ['BatchMatMul', 'Softmax'].includes(k))).toEqual([]);
    expect(tf.memory().numTensors).toBe(n0);
    tf.dispose([q, mask]);
  });

  test.skipIf(!canBuild)('linear, rmsNorm, layerNorm and gelu are one native kernel each (no tfjs sub-kernels)', async () => {
    await initBackend('wasm', { native: true });
    const x = tf.randomNormal([3, 5, 16]);
    const w = tf.randomNormal([16]) as tf.Tensor1D;
    const wl = tf.randomNormal([16, 4]) as tf.Tensor2D;
    const bl = tf.randomNormal([4]) as tf.Tensor1D;
    for (const [name, f] of [['IV2RmsNorm', () => rmsNorm(x, w, 1e-6)], ['IV2LayerNorm', () => layerNorm(x, w, w, 1e-5)], ['IV2Gelu', () => gelu(x)],
      ['IV2Gelu', () => gelu(x, 'tanh')], ['IV2Linear', () => linear(x, wl, bl)]] as const) {
      const p = await tf.profile(() => f());
      expect(p.kernelNames).toEqual([name]);
      tf.dispose(p.result as tf.Tensor);
    }
    tf.dispose([x, w, wl, bl]);
  });
});
