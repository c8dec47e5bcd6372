import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { adamwUpdate, COMPOSITE_KERNELS, initBackend, KernelNames } from '../../src/index.js';

// The fused kernels of cpu and wasm must give the composite's float32 bits exactly (resumed runs and the golden
// optimizer tests depend on it), with and without weight decay and a clipping coefficient.
const cases = [
  { lr: 1e-3, weightDecay: 0.05, beta1: 0.9, beta2: 0.98, eps: 1e-6, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.98 ** 3, gradScale: 1 },
  { lr: 3e-3, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, bc1: 0.1, bc2: 0.001, gradScale: 0.37 },
  { lr: 0.5, weightDecay: 0.1, beta1: 0.5, beta2: 0.75, eps: 1e-3, bc1: 1, bc2: 1, gradScale: 1e-3 },
];

test.each(['cpu', 'wasm'] as const)('the fused AdamW update on %s equals the composite bit for bit and leaks nothing', async (backend) => {
  await initBackend(backend);
  const n = 4099;
  const data = (seed: number, scale: number, positive = false) => Float32Array.from({ length: n }, (_, i) => {
    const x = Math.sin(seed * 1000 + i * 0.731) * scale * (1 + (i % 17));
    return positive ? Math.abs(x) : x;
  });
  const before = tf.memory().numTensors;
  for (const a of cases) {
    const p = tf.tensor1d(data(1, 0.5));
    const g = tf.tensor1d(data(2, 1e-2));
    const m = tf.tensor1d(data(3, 1e-3));
    const v = tf.tensor1d(data(4, 1e-5, true));
    const prof = await tf.profile(() => adamwUpdate(p, g, m, v, a));
    // one kernel: the loop, not the composite's thirteen
    expect(prof.kernelNames).toEqual([KernelNames.AdamWUpdate]);
    const fused = prof.result as tf.Tensor[];
    const ref = COMPOSITE_KERNELS[KernelNames.AdamWUpdate]({ param: p, grad: g, m, v }, a as never) as tf.Tensor[];
    for (let k = 0; k < 3; k++) {
      const x = fused[k].dataSync() as Float32Array;
      const y = ref[k].dataSync() as Float32Array;
      expect(new Uint32Array(x.buffer, x.byteOffset, n)).toEqual(new Uint32Array(y.buffer, y.byteOffset, n));
    }
    // the parameter moved by about lr per element (Adam's step size), in the direction against the gradient
    const moved = tf.tidy(() => tf.mean(tf.abs(tf.sub(fused[0], p))).dataSync()[0]);
    expect(moved).toBeGreaterThan(a.lr * 0.05);
    tf.dispose([p, g, m, v, ...fused, ...ref]);
  }
  expect(tf.memory().numTensors).toBe(before);
});
