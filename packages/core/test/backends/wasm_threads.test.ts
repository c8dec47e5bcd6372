import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { describeBackend, describeNative, initBackend, wasmMatMulCounts, wasmThreadsStatus } from '../../src/index.js';
import { setupNative } from '../../src/kernels/wasm/native.js';
// @ts-expect-error plain JavaScript build helper of @iv2/native
import { missingBuildTools } from '../../../native/scripts/build_addon.mjs';

const canBuild = (missingBuildTools() as string[]).length === 0;
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const want = Math.min(8, availableParallelism());

const product = () => tf.tidy(() => [...tf.matMul(tf.randomNormal([301, 257], 0, 1, 'float32', 1), tf.randomNormal([257, 129], 0, 1, 'float32', 2)).dataSync()]);
const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// This file's process starts wasm without the addon first, so it runs tfjs-wasm's threaded build.
describe('wasm in Node without @iv2/native: the threaded-SIMD build', () => {
  test('XNNPACK gets one thread per core (at most 8), the heap is shared, products match cpu', async () => {
    await initBackend('cpu');
    const ref = product();
    await initBackend('wasm', { native: false });
    const d = await describeBackend();
    expect(d.wasm?.xnnpackThreads).toBe(want > 1 ? want : 1);
    expect(d.wasm?.threads).toBe(want > 1);
    expect(wasmThreadsStatus()?.threads).toBe(want > 1 ? want : 1);
    const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
    if (want > 1) expect(heap).toBeInstanceOf(SharedArrayBuffer);
    const before = wasmMatMulCounts.xnnpack;
    expect(maxDiff(product(), ref)).toBeLessThan(1e-4);
    expect(wasmMatMulCounts.xnnpack).toBeGreaterThan(before);
  });

  test('the addon, turned on afterwards, works on the shared heap', async () => {
    await initBackend('cpu');
    const ref = product();
    await initBackend('wasm', { native: true });
    if (!describeNative().active) {
      expect(canBuild, describeNative().reason).toBe(false); // no compiler here: the addon is genuinely absent
      return;
    }
    const before = wasmMatMulCounts.native;
    expect(maxDiff(product(), ref)).toBeLessThan(1e-4);
    expect(wasmMatMulCounts.native).toBeGreaterThan(before);
    await setupNative(false);
  });

  test('a program on the threaded build exits by itself, and leaves no files behind', () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('iv2-wasm-threads-')));
    const code = `
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend, describeBackend } from './dist/index.js';
      await initBackend('wasm', { native: false });
      const y = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
      console.log('sum', (await tf.sum(y).data())[0], (await describeBackend()).wasm.xnnpackThreads);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: pkgDir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`sum ${64 ** 3} ${want > 1 ? want : 1}`);
    const left = readdirSync(tmpdir()).filter((f) => f.startsWith('iv2-wasm-threads-') && !before.has(f));
    expect(left).toEqual([]);
  }, 90_000);

  test('IV2_WASM_THREADS=1 keeps the single-threaded build', () => {
    const code = `
      import { initBackend, describeBackend } from './dist/index.js';
      await initBackend('wasm', { native: false });
      console.log(JSON.stringify((await describeBackend()).wasm));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: pkgDir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, IV2_WASM_THREADS: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ threads: false, xnnpackThreads: 1, singleThreadReason: 'IV2_WASM_THREADS' });
  }, 90_000);
});
