import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend, Rng } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import { InternVideo2Stage2Text } from '@iv2/llm-bridge';
import { alignLoss, EncoderTeacher, gatherVisible, idMask, ObjectiveConfigError, ReplayDraws, RngDraws, Stage2VisualObjective, Trainer, vtcLoss } from '../src/index.js';

describe('stage-2 pieces (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const tiny = (seed: number, extra: Record<string, unknown> = {}) =>
    VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2, ...extra }, seed }).model;
  const textTower = () =>
    InternVideo2Stage2Text.create({
      config: { bert: { vocab_size: 20, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 8, fusion_layer: 1, encoder_width: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, embed_dim: 8, vision_width: 16 },
    }).train();
  const batch = () => ({
    image: new Rng(0).normalTensor([2, 2, 3, 28, 28]) as tf.Tensor5D,
    inputIds: tf.tensor2d([[1, 5, 6, 2], [1, 7, 2, 0]], [2, 4], 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], [2, 4], 'int32'),
    idx: tf.tensor1d([0, 1], 'int32'),
  });

  test('VTC soft targets: repeated ids share the row mass', async () => {
    expect(await idMask(tf.tensor1d([3, 5, 3], 'int32'), true).array()).toEqual([[0.5, 0, 0.5], [0, 1, 0], [0.5, 0, 0.5]]);
    // By hand: unit vectors, temp 0.5; rows of S = cos/τ; loss = ½(mean_i −Σ_j Y_ij log softmax(S)_ij + same on Sᵀ).
    const v = [[1, 0], [0.6, 0.8], [0, 1]];
    const t = [[0.8, 0.6], [1, 0], [0, 1]];
    const ids = [0, 0, 1];
    const S = v.map((a) => t.map((b) => (a[0] * b[0] + a[1] * b[1]) / 0.5));
    const Y = ids.map((a) => ids.map((b) => (a === b ? 1 : 0) / ids.filter((c) => c === a).length));
    const ce = (M: number[][]) => M.reduce((acc, row, i) => {
      const lse = Math.log(row.reduce((z, x) => z + Math.exp(x), 0));
      return acc - row.reduce((z, x, j) => z + Y[i][j] * (x - lse), 0);
    }, 0) / M.length;
    const St = S[0].map((_, j) => S.map((row) => row[j]));
    const want = (ce(S) + ce(St)) / 2;
    const got = (await vtcLoss(tf.tensor2d(v), tf.tensor2d(t), tf.tensor1d(ids, 'int32'), 0.5).data())[0];
    expect(got).toBeCloseTo(want, 5);
  });

  test('UTA with a frozen teacher: attention mask, the stage-1 alignment of the CLIP heads, weighted into the total', async () => {
    const teacherModel = tiny(7);
    const student = tiny(1, { clip_return_layer: 1, clip_teacher_embed_dim: 32, clip_teacher_final_dim: 16 }).train();
    const text = textTower();
    const teacher = new EncoderTeacher(teacherModel, { clipReturnLayer: 1 });
    expect(() => new Stage2VisualObjective(student, text, { loss_weight: { uta: 1 } })).toThrow(ObjectiveConfigError);
    const obj = new Stage2VisualObjective(
      student,
      text,
      { loss_weight: { vtc: 1, vtm: 0, mlm: 0, uta: 2 }, only_mask: false, video_mask_type: 'attention', video_mask_ratio: 0.5 },
      { teacher, draws: new RngDraws(new Rng(1)) },
    );
    const b = batch();
    const p = await obj.prepare(b);
    // Whole-clip attention rows (this teacher sees the clip at once): 2·4 patches, 4 masked, CLS kept.
    expect(p.visible!.shape).toEqual([2, 5]);
    const params = obj.parameters();
    let uta = 0;
    let vtc = 0;
    const { value, grads } = tf.variableGrads(() => {
      const out = obj.loss(p);
      uta = out.parts.loss_uta.dataSync()[0];
      vtc = out.parts.loss_vtc.dataSync()[0];
      return out.total;
    }, params.map((q) => q.variable));
    expect(uta).toBeGreaterThan(0);
    expect((await value.data())[0]).toBeCloseTo(uta + vtc, 5);
    // The same number from the pieces: 2 · (mid + final) at the visible tokens.
    const t = await teacher.forward(tf.transpose(b.image, [0, 2, 1, 3, 4]) as tf.Tensor5D);
    const manual = tf.tidy(() => {
      const s = student.forward(p.video, { visible: p.visible! });
      return tf.mul(tf.add(alignLoss(s.clipAlign!, gatherVisible(t.middle, p.visible!)), alignLoss(s.align!, t.final!)), 2);
    });
    expect((await manual.data())[0]).toBeCloseTo(uta, 5);
    const decoder = params.find((q) => q.name === 'vision_encoder.clip_decoder.0.head.weight')!;
    expect(grads[decoder.variable.name]).toBeDefined();
    tf.dispose([value, ...Object.values(grads), manual, t.middle, t.final!, t.attn!, b.image, b.inputIds, b.attentionMask, b.idx]);
    obj.release(p);
    student.dispose();
    teacherModel.dispose();
    text.dispose();
  });

  test('images (T = 1) take the image mask ratio and draw', async () => {
    const student = tiny(1).train();
    const text = textTower();
    const obj = new Stage2VisualObjective(student, text, { loss_weight: { vtm: 0, mlm: 0 }, image_mask_ratio: 0.5 }, {
      draws: new ReplayDraws(new Map([['image_mask', tf.tensor2d([[1, 0, 1, 0], [0, 0, 1, 1]], [2, 4], 'bool')]])),
    });
    const b = batch();
    const img = tf.slice(b.image, [0, 0, 0, 0, 0], [2, 1, 3, 28, 28]) as tf.Tensor5D;
    const p = await obj.prepare({ ...b, image: img });
    expect(p.useImage).toBe(true);
    expect(await p.visible!.array()).toEqual([[0, 2, 4], [0, 1, 2]]);
    const out = obj.loss(p);
    expect(Number.isFinite((await out.total.data())[0])).toBe(true);
    tf.dispose([out.total, ...Object.values(out.parts), ...Object.values(out.extras ?? {}), img, b.image, b.inputIds, b.attentionMask, b.idx]);
    obj.release(p);
    student.dispose();
    text.dispose();
  });
});

// Fresh draws (on-device multinomial for the VTM negatives, host Bernoulli for MLM) inside a training step, on the
// backends the wasm suite above does not cover.
describe.each(['cpu', 'webgpu'] as const)('a stage-2 step with fresh draws (%s)', (backend) => {
  test('VTC + VTM + MLM step, nothing left behind', async () => {
    await initBackend(backend);
    const vision = VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2 }, seed: 1 }).model.train();
    const text = InternVideo2Stage2Text.create({
      config: { bert: { vocab_size: 20, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 8, fusion_layer: 1, encoder_width: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, embed_dim: 8, vision_width: 16 },
    }).train();
    const obj = new Stage2VisualObjective(vision, text, { cls_token_id: 1, mask_token_id: 3, video_mask_ratio: 0.5 }, { draws: new RngDraws(new Rng(9)) });
    const trainer = new Trainer(obj, { adamw: { lr: 1e-3 }, clipGrad: 3 });
    const b = {
      image: new Rng(0).normalTensor([3, 2, 3, 28, 28]) as tf.Tensor5D,
      inputIds: tf.tensor2d([[1, 5, 6, 2], [1, 7, 2, 0], [1, 8, 9, 2]], [3, 4], 'int32'),
      attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]], [3, 4], 'int32'),
      idx: tf.tensor1d([0, 1, 2], 'int32'),
    };
    const first = await trainer.step(b);
    const before = tf.memory().numTensors;
    const second = await trainer.step(b);
    expect(tf.memory().numTensors).toBe(before);
    for (const r of [first, second]) for (const v of Object.values(r.parts)) expect(Number.isFinite(v)).toBe(true);
    expect(second.gradNorm).toBeGreaterThan(0);
    tf.dispose([b.image, b.inputIds, b.attentionMask, b.idx]);
    trainer.dispose();
    vision.dispose();
    text.dispose();
  });
});
