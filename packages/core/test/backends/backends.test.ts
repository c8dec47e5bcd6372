import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, test } from 'vitest';
import { BackendUnavailableError, describeBackend, initBackend, rmsNorm } from '../../src/index.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Runs an ES module snippet in a fresh Node process (backends initialise once per process); returns stdout and,
 * separately, stderr (where tfjs prints its warnings).
 */
function node(code: string): { out: string; err: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: pkgDir, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr };
}

describe('initBackend and describeBackend', () => {
  test('cpu', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const d = await describeBackend();
    expect(d).toMatchObject({ backend: 'cpu', tfjs: '4.22.0' });
    expect(d.runtime).toMatch(/^node 20\./);
  });

  test('wasm finds its .wasm files in node_modules and reports SIMD and threads', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    const d = await describeBackend();
    expect(d.backend).toBe('wasm');
    expect(typeof d.wasm?.simd).toBe('boolean');
    expect(typeof d.wasm?.threads).toBe('boolean');
  });

  test('webgpu in Node runs on Dawn with the SwiftShader Vulkan driver here, and reports adapter, features, limits', async () => {
    expect(await initBackend('webgpu')).toBe('webgpu');
    const d = await describeBackend();
    expect(d.backend).toBe('webgpu');
    // This machine has no GPU: the adapter is SwiftShader (Google's CPU Vulkan), architecture 'swiftshader'.
    expect(d.adapter?.architecture).toMatch(/swiftshader/i);
    expect(typeof d.adapter?.isFallbackAdapter).toBe('boolean');
    expect(Array.isArray(d.features)).toBe(true);
    expect(d.limits?.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    expect(d.limits?.maxStorageBufferBindingSize).toBeGreaterThan(0);
    // And the backend computes: an op with a WGSL kernel.
    const y = rmsNorm(tf.tensor2d([[3, 4]]), tf.ones([2]) as tf.Tensor1D, 0);
    const v = await y.data();
    expect(Math.abs(v[0] - 3 / Math.sqrt(12.5))).toBeLessThan(1e-6);
    y.dispose();
  }, 60_000);

  // tfjs-node(-gpu) cannot be installed on our machines (its install script downloads libtensorflow), so here the
  // 'tensorflow' backend must fail with the typed error that names the package; where it is installed,
  // initBackend('tensorflow') and 'auto' pick it instead.
  test("'tensorflow' without tfjs-node says what to install", async () => {
    const e = await initBackend('tensorflow').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect((e as BackendUnavailableError).backend).toBe('tensorflow');
    expect((e as Error).message).toContain('@tensorflow/tfjs-node');
  });

  test("'auto' in Node without tfjs-node picks wasm", async () => {
    expect(await initBackend('auto')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('in a fresh process', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('wasmPaths is honoured: a folder holding the binaries works, an empty one fails', () => {
    const wasmDist = dirname(createRequire(join(pkgDir, 'package.json')).resolve('@tensorflow/tfjs-backend-wasm'));
    const good = mkdtempSync(join(tmpdir(), 'iv2-wasm-'));
    const empty = mkdtempSync(join(tmpdir(), 'iv2-wasm-empty-'));
    dirs.push(good, empty);
    for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) cpSync(join(wasmDist, f), join(good, f));
    const script = (dir: string) => `
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend } from './dist/index.js';
      try {
        await initBackend('wasm', { wasmPaths: ${JSON.stringify(dir + '/')} });
        const y = tf.add(tf.tensor1d([1, 2]), 1);
        console.log('ok', Array.from(await y.data()).join(','));
      } catch (e) { console.log('failed', e.name); }
      process.exit(0);`;
    expect(node(script(good)).out.trim()).toBe('ok 2,3');
    expect(node(script(empty)).out).toContain('failed');
  }, 60_000);

  test("tfjs's Node.js banner is silenced", () => {
    const code = (init: string) => `
      import * as tf from '@tensorflow/tfjs-core';
      import '@tensorflow/tfjs-backend-cpu';
      import { initBackend } from './dist/index.js';
      ${init}
      const y = tf.matMul(tf.ones([2, 2]), tf.ones([2, 2]));
      console.log('sum', (await tf.sum(y).data())[0]);`;
    // The check can fail: without initBackend, plain tfjs prints the banner.
    expect(node(code("await tf.setBackend('cpu');")).err).toContain('Hi, looks like you are running TensorFlow.js in Node.js');
    const r = node(code("await initBackend('cpu');"));
    expect(r.out.trim()).toBe('sum 8');
    expect(r.err).not.toContain('Hi, looks like');
  }, 60_000);
});
