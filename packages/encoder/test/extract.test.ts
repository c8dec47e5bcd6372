import * as tf from '@tensorflow/tfjs-core';
import { type FrameSource, type Frames, initBackend } from '@iv2/core';
import { beforeAll, expect, test } from 'vitest';
import { extractFeatures, MissingDecoderError, preprocessFrames, VideoEncoder } from '../src/index.js';
import { tinyConfig } from './helpers.js';

beforeAll(() => initBackend('cpu'));

/** 40 frames at 5 fps (8 s); frame i is a flat grey of value 5·i. */
function fakeSource(): FrameSource & { reads: number[][] } {
  const reads: number[][] = [];
  return {
    path: 'memory://clip',
    info: { width: 64, height: 48, numFrames: 40, fps: 5, duration: 8 },
    reads,
    async readFrames(indices: number[], size?: { width: number; height: number }): Promise<Frames> {
      reads.push(indices);
      const w = size?.width ?? 64;
      const h = size?.height ?? 48;
      const data = new Uint8Array(indices.length * w * h * 3);
      indices.forEach((f, n) => data.fill(5 * f, n * w * h * 3, (n + 1) * w * h * 3));
      return { data, count: indices.length, width: w, height: h };
    },
    async close() {},
  };
}

test('sliding windows: official middle sampling per window, batched, same embedding as a direct forward', async () => {
  const enc = VideoEncoder.create({ config: tinyConfig(), seed: 3 });
  const src = fakeSource();
  const before = tf.memory().numTensors;
  const out = [];
  for await (const w of extractFeatures(enc, src, { windowSeconds: 4, strideSeconds: 2, batchSize: 2 })) out.push(w);
  expect(tf.memory().numTensors).toBe(before);
  expect(out.map((w) => [w.start, w.end])).toEqual([[0, 4], [2, 6], [4, 8]]);
  // 20 frames per window, 4 segments of 5: middles at 2, 7, 12, 17.
  expect(out[0].frameIndices).toEqual([2, 7, 12, 17]);
  expect(out[1].frameIndices).toEqual([12, 17, 22, 27]);
  const frames = await src.readFrames(out[2].frameIndices, { width: 56, height: 56 });
  const direct = await enc.embed(preprocessFrames(frames, { size: 56 })).data();
  expect(Array.from(out[2].embedding).map((v, i) => Math.abs(v - direct[i])).reduce((a, b) => Math.max(a, b))).toBeLessThan(1e-5);
  enc.dispose();
});

test('a file path without @iv2/data installed gives a typed error', async () => {
  const enc = VideoEncoder.create({ config: tinyConfig() });
  const it = extractFeatures(enc, '/no/such/video.mp4');
  const err = await it.next().catch((e) => e);
  // In this workspace @iv2/data may be resolvable; either it decodes (and fails on the missing file) or says to install it.
  expect(err).toBeInstanceOf(Error);
  if (err instanceof MissingDecoderError) expect(err.message).toMatch(/npm install @iv2\/data/);
  else expect(err.message).toMatch(/video\.mp4/);
  enc.dispose();
});
