import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPlayground } from './browser.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TINY = { img_size: 56, patch_size: 14, embed_dim: 64, depth: 3, num_heads: 4, mlp_ratio: 4, attn_pool_num_heads: 4, clip_embed_dim: 32, num_frames: 4 };

/** The same deterministic clip on both sides. */
function clip(t: typeof tf): tf.Tensor5D {
  return t.tidy(() => t.reshape(t.sin(t.mul(t.range(0, 3 * 4 * 56 * 56), 0.001)), [1, 3, 4, 56, 56]) as tf.Tensor5D);
}

let page: Page;
let close: () => Promise<void>;
let reference: number[];

beforeAll(async () => {
  ({ page, close } = await openPlayground(root));
  await initBackend('cpu');
  const enc = VideoEncoder.create({ config: TINY, seed: 0 });
  reference = Array.from(await enc.embed(clip(tf)).data());
  enc.dispose();
}, 240_000);

afterAll(() => close?.());

describe.each(['webgpu', 'wasm'])('playground in headless Chromium on %s', (backend) => {
  test('starts the backend and embeds a clip as Node does', async () => {
    const got = await page.evaluate(async (b) => {
      const w = window as unknown as { iv2: { startBackend(n: string): Promise<string>; VideoEncoder: typeof VideoEncoder; TINY_CONFIG: object; tf: typeof tf } };
      const used = await w.iv2.startBackend(b);
      const t = w.iv2.tf;
      const enc = w.iv2.VideoEncoder.create({ config: w.iv2.TINY_CONFIG, seed: 0 });
      const video = t.tidy(() => t.reshape(t.sin(t.mul(t.range(0, 3 * 4 * 56 * 56), 0.001)), [1, 3, 4, 56, 56]));
      const emb = Array.from(await enc.embed(video as never).data());
      const info = document.getElementById('backend-info')!.textContent!;
      return { used, emb, info };
    }, backend);
    expect(got.used).toBe(backend);
    if (backend === 'webgpu') expect(JSON.parse(got.info).adapter.architecture).toBeTruthy();
    const err = Math.max(...got.emb.map((v, i) => Math.abs(v - reference[i])));
    expect(err).toBeLessThan(1e-4);
  });
});
