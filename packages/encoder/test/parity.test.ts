import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend, type BackendName } from '@iv2/core';
import { VideoEncoder } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readIO, tinyConfig } from './helpers.js';

// The same golden checks on every backend that exists on our machines. tfjs-node ('tensorflow') cannot install
// here (its install downloads libtensorflow), so it is not in the list.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];

// Every folder of official PretrainInternVideo2 outputs under fixtures/encoder (and $IV2_EXTRA_FIXTURES/encoder).
const CASES = fixtureCases('encoder', (dir) => ['config.json', 'weights.safetensors', 'io.safetensors'].every((f) => existsSync(resolve(dir, f))));

test('at least one encoder fixture is found', () => {
  expect(CASES.length).toBeGreaterThan(0);
});

for (const fx of CASES) {
  describe(fx.title, () => {
    describe.each(BACKENDS)('%s', (BACKEND) => {
      let enc: VideoEncoder;
      let io: Map<string, tf.Tensor>;
      beforeAll(async () => {
        await initBackend(BACKEND);
        enc = await VideoEncoder.fromPretrained(resolve(fx.dir, 'weights.safetensors'), { config: tinyConfig(fx.dir) });
        io = await readIO(fx.dir);
      });
      afterAll(() => {
        enc?.dispose();
        if (io) tf.dispose([...io.values()]);
      });

      const check = async (run: string, out: Record<string, tf.Tensor | undefined>) => {
        const errs: Record<string, number> = {};
        for (const [ours, theirs] of [['tokens', 'x_vis'], ['pooled', 'x_pool_vis'], ['clipAlign', 'x_clip_align'], ['align', 'x_align']]) {
          errs[theirs] = await maxRelErr(out[ours]!, io.get(`${run}.${theirs}`)!);
        }
        console.log(`${BACKEND} ${fx.title} ${run}`, errs);
        for (const e of Object.values(errs)) expect(e).toBeLessThanOrEqual(1e-4);
      };

      test('loads every key, nothing unused', () => {
        expect(enc.loadReport!.missing).toEqual([]);
        expect(enc.loadReport!.unused).toEqual([]);
        expect(enc.loadReport!.loaded.length).toBe(enc.model.namedParameterInfo().length);
      });

      test('full', async () => {
        const out = await enc.forward(io.get('video') as tf.Tensor5D);
        await check('full', out as never);
      });

      test('masked', async () => {
        const out = await enc.forward(io.get('video') as tf.Tensor5D, { mask: io.get('mask') as tf.Tensor2D });
        await check('masked', out as never);
      });

      test('image', async () => {
        const out = await enc.forward(io.get('image') as tf.Tensor5D, { useImage: true });
        await check('image', out as never);
      });

      test('x_vis_return_idx = -2', async () => {
        const out = await enc.forward(io.get('video') as tf.Tensor5D, { returnLayer: -2 });
        const e = await maxRelErr(out.tokens, io.get('full.x_vis_layer_minus2')!);
        console.log(`${BACKEND} ${fx.title} full.x_vis_layer_minus2`, e);
        expect(e).toBeLessThanOrEqual(1e-4);
      });

      test('forward leaks no tensors', async () => {
        const video = io.get('video') as tf.Tensor5D;
        const before = tf.memory().numTensors;
        for (let i = 0; i < 2; i++) {
          const out = await enc.forward(video, { mask: io.get('mask') as tf.Tensor2D });
          tf.dispose(out as never);
          enc.embed(video).dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  });
}
