import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend, Rng } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import { InternVideo2Stage2Text } from '@iv2/llm-bridge';
import {
  combine,
  ObjectiveConfigError,
  PixelReconstruction,
  presetTrainer,
  RngDraws,
  stage1Trainer,
  stage2Trainer,
  Stage2VisualObjective,
  Trainer,
} from '../src/index.js';

describe('recipes (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('stage-1 1B settings: linear scaling to 2.4e-3, warm-up from 0, cosine to 1.6e-4', () => {
    const s = presetTrainer('1B_pt', 100);
    expect(s.adamw.lr).toBeCloseTo(2.4e-3, 12);
    expect(s.adamw.betas).toEqual([0.9, 0.98]);
    expect(s.adamw.eps).toBe(1e-6);
    expect(s.clipGrad).toBe(3);
    expect(s.totalSteps).toBe(30100);
    expect(s.schedule(0)).toBe(0);
    expect(s.schedule(4000)).toBeCloseTo(2.4e-3, 9);
    expect(s.schedule(30100)).toBeCloseTo(1.6e-4, 9);
    const d = stage1Trainer({ lr: 1e-3, batch_size: 128, num_devices: 32, clip_grad: 5 }, 10);
    expect(d.adamw.lr).toBeCloseTo(1.6e-2, 12);
  });

  test('stage-2 settings: absolute lr, the min_lr_multi floor also during warm-up', () => {
    const s = stage2Trainer({}, 100);
    expect(s.adamw.lr).toBe(5e-5);
    expect(s.schedule(0)).toBeCloseTo(5e-7, 15);
    expect(s.schedule(50)).toBeCloseTo(2.5e-5, 15);
    expect(s.schedule(100)).toBeCloseTo(5e-5, 15);
    expect(s.schedule(1000)).toBeCloseTo(5e-7, 15);
    const v = presetTrainer('videochat2_stage3', 10);
    expect(v.adamw.betas).toEqual([0.9, 0.999]);
    expect(v.clipGrad).toBeUndefined();
    expect(() => stage2Trainer({ optimizer: { lr: -1 } }, 10)).toThrow(ObjectiveConfigError);
    expect(() => stage2Trainer({ optimizer: { lr: -1 } }, 10)).toThrow(/optimizer\.lr/);
  });

  test('VTC and pixel reconstruction combined over one encoder', async () => {
    const vision = VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2 }, seed: 1 }).model.train();
    const text = InternVideo2Stage2Text.create({
      config: { bert: { vocab_size: 20, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 8, fusion_layer: 1, encoder_width: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, embed_dim: 8, vision_width: 16 },
    }).train();
    const vtc = new Stage2VisualObjective(vision, text, { loss_weight: { vtc: 1, vtm: 0, mlm: 0 }, video_mask_type: 'none' });
    const pix = new PixelReconstruction(vision, { decoder_embed_dim: 16, decoder_depth: 1, decoder_num_heads: 2, mask_ratio: 0.5 }, { draws: new RngDraws(new Rng(3)) });
    const both = combine<{ image: tf.Tensor5D; inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; idx: tf.Tensor1D }>([
      { objective: vtc },
      { objective: pix, weight: 0.5, select: (b) => ({ video: tf.transpose(b.image, [0, 2, 1, 3, 4]) }), prefix: 'pix.' },
    ]);
    // The shared encoder counts once.
    const names = both.parameters().map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n === 'patch_embed.proj.weight' || n === 'vision_encoder.patch_embed.proj.weight').length).toBe(1);
    const rng = new Rng(0);
    const batch = {
      image: rng.normalTensor([2, 2, 3, 28, 28]) as tf.Tensor5D,
      inputIds: tf.tensor2d([[1, 5, 6, 2], [1, 7, 2, 0]], [2, 4], 'int32'),
      attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], [2, 4], 'int32'),
      idx: tf.tensor1d([0, 1], 'int32'),
    };
    const p = await both.prepare(batch);
    const out = both.loss(p);
    const parts = Object.fromEntries(await Promise.all(Object.entries(out.parts).map(async ([k, v]) => [k, (await v.data())[0]])));
    expect(Object.keys(parts)).toEqual(['loss_uta', 'loss_vtc', 'loss_vtm', 'loss_mlm', 'pix.loss_pixel']);
    expect((await out.total.data())[0]).toBeCloseTo(parts.loss_vtc + 0.5 * parts['pix.loss_pixel'], 5);
    tf.dispose([out.total, ...Object.values(out.parts)]);
    both.release!(p);
    const trainer = new Trainer(both, { adamw: { lr: 1e-3 }, clipGrad: 1, accumulation: 2 });
    const a = await trainer.step(batch);
    const b = await trainer.step(batch);
    expect([a.applied, b.applied]).toEqual([false, true]);
    expect(b.gradNorm).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    await trainer.step(batch);
    await trainer.step(batch);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([batch.image, batch.inputIds, batch.attentionMask, batch.idx]);
    trainer.dispose();
    pix.dispose();
    vision.dispose();
    text.dispose();
  });
});
