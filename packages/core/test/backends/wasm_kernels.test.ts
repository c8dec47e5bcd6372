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

test('wasm Transpose and GatherV2 copy on the heap and match cpu for every rank, size-1 axes and dtype', async () => {
  const rng = (() => {
    let s = 12345;
    return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  })();
  const shuffle = (n: number) => {
    const p = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  };
  const dtypes: tf.DataType[] = ['float32', 'int32', 'bool'];
  const tcases = Array.from({ length: 60 }, (_, i) => {
    const r = 1 + (i % 6);
    const shape = Array.from({ length: r }, () => (rng() < 0.2 ? 1 : 1 + Math.floor(rng() * 5)));
    if (i === 0) shape.splice(0, r, 70);
    return { shape, perm: shuffle(r), dtype: dtypes[i % 3] };
  });
  tcases.push({ shape: [4, 2, 8, 4, 8, 12], perm: [0, 2, 4, 1, 3, 5], dtype: 'float32' }, { shape: [3, 70, 2], perm: [1, 0, 2], dtype: 'float32' }, { shape: [3, 0, 2], perm: [2, 1, 0], dtype: 'float32' });
  const gcases = Array.from({ length: 30 }, (_, i) => {
    const r = 1 + (i % 4);
    const shape = Array.from({ length: r }, () => 1 + Math.floor(rng() * 5));
    if (i === 1) shape[r - 1] = 80;
    const axis = Math.floor(rng() * r);
    const idxShape = i % 3 === 0 ? [2, 3] : [1 + Math.floor(rng() * 6)];
    const ids = Array.from({ length: idxShape.reduce((a, b) => a * b, 1) }, () => Math.floor(rng() * shape[axis]));
    return { shape, axis, idxShape, ids, dtype: dtypes[i % 3] };
  });
  const make = (shape: number[], dtype: tf.DataType, seed: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Array.from({ length: n }, (_, i) => (dtype === 'float32' ? Math.sin(seed * 7 + i) * 3 : dtype === 'int32' ? (seed * 31 + i * 17) % 1000 - 500 : (seed + i * 13) % 3 === 0 ? 1 : 0));
    return tf.tensor(v, shape, dtype);
  };
  const runAll = () => [
    ...tcases.map((c, i) => tf.tidy(() => tf.transpose(make(c.shape, c.dtype, i), c.perm).arraySync())),
    ...gcases.map((c, i) => tf.tidy(() => tf.gather(make(c.shape, c.dtype, i), tf.tensor(c.ids, c.idxShape, 'int32'), c.axis).arraySync())),
  ];
  await initBackend('cpu');
  const ref = runAll();
  await initBackend('wasm');
  const n0 = tf.memory().numTensors;
  const { wasmCopyCounts } = await import('../../src/kernels/wasm/copy.js');
  const before = { ...wasmCopyCounts };
  expect(runAll()).toEqual(ref);
  // tf.transpose skips the kernel for rank 1; what merges to at most 4-D goes to tfjs-wasm's kernels
  const { collapseTranspose } = await import('../../src/kernels/wasm/copy.js');
  const own = tcases.filter((c) => c.shape.length > 1 && (collapseTranspose(c.shape, c.perm).shape.length > 4 || c.shape.includes(0) || collapseTranspose(c.shape, c.perm).shape.length === 1));
  expect(own.length).toBeGreaterThan(2);
  expect(wasmCopyCounts.transpose - before.transpose).toBe(own.length);
  expect(wasmCopyCounts.gather - before.gather).toBe(gcases.length);
  // tfjs-wasm reads past the end here; tfjs-cpu and this kernel refuse it, naming the index
  const x = tf.ones([3, 2]);
  const bad = tf.tensor1d([0, 3], 'int32');
  expect(() => tf.gather(x, bad)).toThrow(/index value 3 is not in \[0, 2\]/);
  tf.dispose([x, bad]);
  expect(tf.memory().numTensors).toBe(n0);
});

test('collapseTranspose drops size-1 axes and merges axes that stay neighbours', async () => {
  const { collapseTranspose } = await import('../../src/kernels/wasm/copy.js');
  expect(collapseTranspose([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
  expect(collapseTranspose([2, 1, 3], [2, 1, 0])).toEqual({ shape: [2, 3], perm: [1, 0] });
  expect(collapseTranspose([2, 3, 4, 5], [0, 2, 3, 1])).toEqual({ shape: [2, 3, 20], perm: [0, 2, 1] });
  expect(collapseTranspose([2, 3, 4, 5], [2, 3, 0, 1])).toEqual({ shape: [6, 20], perm: [1, 0] });
  expect(collapseTranspose([4, 2, 8, 4, 8, 12], [0, 2, 4, 1, 3, 5])).toEqual({ shape: [4, 2, 8, 4, 8, 12], perm: [0, 2, 4, 1, 3, 5] });
  expect(collapseTranspose([1, 1], [1, 0])).toEqual({ shape: [1], perm: [0] });
});
