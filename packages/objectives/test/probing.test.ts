import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend, Rng } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import { EvaluationInputError, evaluateProbe, ProbeHead, trainProbe } from '../src/index.js';

describe('linear and attentive probing (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  /** Three classes, each a noisy copy of its own random prototype. */
  function features(n: number, d: number, seed: number): { x: tf.Tensor2D; y: number[] } {
    const rng = new Rng(seed);
    const protos = [0, 1, 2].map(() => Array.from({ length: d }, () => rng.normal()));
    const y = Array.from({ length: n }, (_, i) => i % 3);
    const x = y.flatMap((c) => protos[c].map((v) => v + 0.8 * rng.normal()));
    return { x: tf.tensor2d(x, [n, d]), y };
  }

  test('the head starts at init_scale and a linear probe separates frozen features', async () => {
    const head = new ProbeHead({ dim: 16, numClasses: 3, initScale: 0.001 });
    const w = await head.head.weight.data();
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThan(0.001 * 0.1); // trunc-normal(0.02) × 0.001
    const train = features(60, 16, 1);
    const testSet = features(30, 16, 1);
    const before = await evaluateProbe(head, testSet.x, testSet.y);
    const losses = await trainProbe(head, { features: train.x, labels: train.y, epochs: 15, batchSize: 10, lr: 1e-2, smoothing: 0.1 });
    const after = await evaluateProbe(head, testSet.x, testSet.y);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(after.top1).toBeGreaterThan(90);
    expect(after.top1).toBeGreaterThanOrEqual(before.top1);
    await expect(trainProbe(head, { features: train.x, labels: [0], epochs: 1, batchSize: 1, lr: 1 })).rejects.toThrow(EvaluationInputError);
    tf.dispose([train.x, testSet.x]);
    head.dispose();
  });

  test('an attentive probe starts from the encoder pool and trains on frozen tokens', async () => {
    const enc = VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2 }, seed: 4 });
    const head = new ProbeHead({ dim: 16, numClasses: 3, attentive: { width: 32, numHeads: 2 } });
    head.initPoolFrom(enc.model.clipProjector);
    const video = new Rng(2).normalTensor([6, 3, 2, 28, 28]) as tf.Tensor5D;
    const tokens = enc.model.forward(video, { tokensOnly: true }).tokens;
    // Starting from the encoder's pool, the probe's pooling equals the encoder's own.
    const a = enc.model.clipProjector.forward(tokens);
    const b = head.clipProjector!.forward(tokens);
    expect(Math.max(...Array.from(await tf.abs(tf.sub(a, b)).data()))).toBe(0);
    const names = head.parameters().map((p) => p.name);
    expect(names).toContain('clip_projector.cross_attn.q.weight');
    expect(names).toContain('fc_norm.weight');
    const losses = await trainProbe(head, { features: tokens, labels: [0, 1, 2, 0, 1, 2], epochs: 20, batchSize: 6, lr: 1e-2 });
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    tf.dispose([video, tokens, a, b]);
    head.dispose();
    enc.dispose();
  });
});
