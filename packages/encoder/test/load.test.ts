import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type HostTensor, initBackend, SafetensorsReader, serializeSafetensors } from '@iv2/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { AmbiguousFramesError, CheckpointMismatchError, interpolatePosEmbed, VideoEncoder } from '../src/index.js';
import { TINY, tinyConfig } from './helpers.js';

let weights: Map<string, HostTensor>;
beforeAll(async () => {
  await initBackend('cpu');
  const r = await SafetensorsReader.open(resolve(TINY, 'weights.safetensors'));
  weights = new Map();
  for (const k of r.keys()) weights.set(k, await r.get(k));
  await r.close();
});

function stage2Bytes(): Uint8Array {
  // A multi-modal checkpoint: vision keys under `vision_encoder.`, other towers beside them.
  const t: Record<string, HostTensor> = {};
  for (const [k, v] of weights) t[`vision_encoder.${k}`] = v;
  t['text_encoder.bert.embeddings.word_embeddings.weight'] = { dtype: 'float32', shape: [3, 2], data: new Float32Array(6) };
  t.temp = { dtype: 'float32', shape: [], data: new Float32Array([0.07]) };
  return serializeSafetensors(t);
}

describe('loading official checkpoints', () => {
  test('finds the vision_encoder. prefix and reports the other towers as unused', async () => {
    const enc = await VideoEncoder.fromPretrained(stage2Bytes(), { config: tinyConfig() });
    expect(enc.loadReport!.prefix).toBe('vision_encoder.');
    expect(enc.loadReport!.unused.sort()).toEqual(['temp', 'text_encoder.bert.embeddings.word_embeddings.weight']);
    expect(enc.loadReport!.missing).toEqual([]);
    enc.dispose();
  });

  test('a 4-frame checkpoint in an 8-frame model: pos tables resized as the official loader does', async () => {
    const enc = await VideoEncoder.fromPretrained(stage2Bytes(), { config: { ...tinyConfig(), num_frames: 8 } });
    expect(enc.loadReport!.resized.map((r) => r.key).sort()).toEqual(['clip_pos_embed', 'pos_embed']);
    const want = interpolatePosEmbed(weights.get('pos_embed')!, { fromFrames: 4, toFrames: 8, toSide: 4 });
    const got = await enc.model.posEmbed.data();
    expect(Array.from(got)).toEqual(Array.from(want.data));
    const video = tf.randomNormal([1, 3, 8, 56, 56]) as tf.Tensor5D;
    expect(enc.embed(video).shape).toEqual([1, 32]);
    enc.dispose();
  });

  test('a resolution change is resized in space (bicubic) with the frames given', async () => {
    const enc = await VideoEncoder.fromPretrained(resolve(TINY, 'weights.safetensors'), { config: { ...tinyConfig(), img_size: 84 }, checkpointNumFrames: 4 });
    expect(enc.loadReport!.resized[0].to).toEqual([1, 1 + 4 * 36, 64]);
    enc.dispose();
  });

  test('ambiguous frame count asks for checkpointNumFrames', async () => {
    // 64 patch rows in a 5×5 model: 1 frame of 8×8, 4 of 4×4, 16 of 2×2 or 64 of 1×1.
    const err = await VideoEncoder.fromPretrained(resolve(TINY, 'weights.safetensors'), { config: { ...tinyConfig(), img_size: 70 } }).catch((e) => e);
    expect(err).toBeInstanceOf(AmbiguousFramesError);
    expect(err.message).toMatch(/checkpointNumFrames/);
    const ok = await VideoEncoder.fromPretrained(resolve(TINY, 'weights.safetensors'), { config: { ...tinyConfig(), img_size: 70 }, checkpointNumFrames: 4 });
    expect(ok.model.posEmbed.shape).toEqual([1, 1 + 4 * 25, 64]);
    ok.dispose();
  });

  test('missing keys name the file and the keys', async () => {
    const t: Record<string, HostTensor> = {};
    for (const [k, v] of weights) if (!k.startsWith('blocks.2.')) t[k] = v;
    const err = await VideoEncoder.fromPretrained(serializeSafetensors(t), { config: tinyConfig() }).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointMismatchError);
    expect(err.missing).toContain('blocks.2.attn.qkv.weight');
    expect(err.message).toMatch(/<checkpoint>: checkpoint does not fit the model: missing 13 key/);
  });

  test('stateDict round trip reproduces the checkpoint exactly', async () => {
    const enc = await VideoEncoder.fromPretrained(resolve(TINY, 'weights.safetensors'), { config: tinyConfig() });
    const sd = await enc.stateDict();
    for (const [k, v] of weights) {
      expect(sd.get(k)!.shape, k).toEqual(v.shape);
      expect(Array.from(sd.get(k)!.data), k).toEqual(Array.from(v.data));
    }
    enc.dispose();
  });
});

describe('PyTorch checkpoints', () => {
  test('a torch.save stage-2 checkpoint (module wrapper, vision_encoder. prefix) gives the official outputs', async () => {
    const { readIO, maxRelErr } = await import('./helpers.js');
    const { fileURLToPath } = await import('node:url');
    const enc = await VideoEncoder.fromPretrained(fileURLToPath(new URL('./golden/iv2_tiny_stage2.pth', import.meta.url)), { config: tinyConfig() });
    expect(enc.loadReport!.prefix).toBe('vision_encoder.');
    expect(enc.loadReport!.unused).toEqual(['text_encoder.bert.embeddings.word_embeddings.weight']);
    const io = await readIO();
    const out = await enc.forward(io.get('video') as tf.Tensor5D);
    expect(await maxRelErr(out.pooled!, io.get('full.x_pool_vis')!)).toBeLessThan(1e-4);
    expect(await maxRelErr(out.tokens, io.get('full.x_vis')!)).toBeLessThan(1e-4);
    enc.dispose();
  });
});
