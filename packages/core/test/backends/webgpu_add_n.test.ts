// tfjs-backend-webgpu's addN past the device's storage-buffer limit (Dawn in Node on SwiftShader, as the page's
// Chromium): initBackend('webgpu') installs the chunked kernel (packages/core/src/kernels/webgpu/add_n.ts), so the
// sum of many tensors, and so the gradient-clipping norm, is right.
import * as tf from '@tensorflow/tfjs-core';
import { clipGradNormAsync, initBackend } from '@iv2/core';
import { beforeAll, describe, expect, test } from 'vitest';

let backend = '';
beforeAll(async () => {
  backend = await initBackend('webgpu').catch(() => '');
}, 120_000);

describe('addN on webgpu', () => {
  test('more inputs than the device has storage buffers per stage sum right; so does the clipping norm', async () => {
    if (!backend) return expect.fail('no WebGPU adapter in Node (needs Chromium\'s SwiftShader Vulkan driver)');
    const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage;
    const n = 3 * limit - 1;
    const xs = Array.from({ length: n }, (_, i) => tf.fill([5], i + 1));
    const s = tf.addN(xs);
    expect(Array.from(await s.data())).toEqual(Array(5).fill((n * (n + 1)) / 2));
    const before = tf.memory().numTensors;
    tf.dispose(tf.addN(xs));
    expect(tf.memory().numTensors).toBe(before);
    // Gradient clipping sums one squared norm per parameter with addN (and disposes the gradients it is given).
    const grads = new Map(xs.map((x, i) => [`p${i}`, tf.clone(x)]));
    const clipped = await clipGradNormAsync(grads, 1);
    const want = Math.sqrt(xs.reduce((a, _, i) => a + 5 * (i + 1) ** 2, 0));
    expect(clipped.norm).toBeCloseTo(want, 2);
    tf.dispose([...xs, s, ...clipped.grads.values()]);
  }, 120_000);
});
