import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend, l2Normalize, Rng } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import {
  attentionGuidedMask,
  EncoderTeacher,
  BatchShapeError,
  DrawReplayError,
  ObjectiveConfigError,
  patchPixels,
  PixelReconstruction,
  PrecomputedTeacher,
  serializeTeacherFeatures,
  TeacherFeatureError,
  ReplayDraws,
  RngDraws,
  teacherReturnIndex,
  TeacherOutputError,
  Trainer,
  tubeMask,
  UnmaskedTeacherDistillation,
} from '../src/index.js';
import { FIXTURES } from '../../../test-utils/fixtures.js';
import { maxRelErr, readTensors } from './helpers.js';

const TINY = join(FIXTURES, 'encoder/iv2-tiny');
const tinyArgs = {
  img_size: 56, patch_size: 14, embed_dim: 64, num_heads: 4, mlp_ratio: 48 / 11, depth: 3, attn_pool_num_heads: 4, clip_embed_dim: 32,
  num_frames: 4, clip_teacher_embed_dim: 48, clip_teacher_final_dim: 24, clip_return_layer: 2,
};

describe('stage 1 pieces (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('teacher return index of the distillation scripts (interval 3.34 over 40 blocks)', () => {
    expect(teacherReturnIndex(40, 6, 3.34)).toEqual([39, 36, 33, 29, 26, 23]);
    expect(teacherReturnIndex(48, 6, 1)).toEqual([47, 46, 45, 44, 43, 42]);
  });

  test('attention-guided mask: first N − int(N·ratio) draws of each row visible, CLS visible, rows side by side', async () => {
    const attn = tf.tensor2d([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.1, 0.1, 0.7]]);
    const draws = new ReplayDraws(new Map([['multinomial', tf.tensor2d([[3, 2, 1, 0], [0, 1, 2, 3], [2, 0, 1, 3], [3, 0, 1, 2]], [4, 4], 'int32')]]));
    const m = await attentionGuidedMask(attn, 2, 0.5, draws);
    // clip 0 = rows 0, 1 (frames); row 0 keeps {3, 2}, row 1 keeps {0, 1}; clip 1: row 2 keeps {2, 0}, row 3 {3, 0}.
    expect(Array.from(await m.data())).toEqual([0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0]);
    // Fresh draws follow the weights: a row with all weight on one patch always keeps it.
    const sharp = tf.tensor2d([[1e-9, 1e-9, 1, 1e-9]]);
    for (let s = 0; s < 5; s++) {
      const mm = await attentionGuidedMask(sharp, 1, 0.75, new RngDraws(new Rng(s)));
      expect(Array.from(await mm.data())).toEqual([0, 1, 1, 0, 1]);
      mm.dispose();
    }
    tf.dispose([attn, m, sharp]);
  });

  test('tube mask repeats one spatial mask over the frames', async () => {
    const m = tubeMask(3, 4, 9, 0.75, new RngDraws(new Rng(1)));
    const d = await m.data();
    for (let b = 0; b < 3; b++) {
      const row = Array.from(d.slice(b * 37 + 1, (b + 1) * 37));
      expect(d[b * 37]).toBe(0);
      expect(row.filter((x) => x).length).toBe(4 * 6);
      for (let t = 1; t < 4; t++) expect(row.slice(t * 9, t * 9 + 9)).toEqual(row.slice(0, 9));
    }
    m.dispose();
  });

  test('normalised pixel targets: per patch and channel, unbiased std', async () => {
    const v = tf.tensor5d(Array.from({ length: 3 * 2 * 2 * 4 }, (_, i) => (i * 7) % 11), [1, 3, 2, 2, 4]);
    const p = patchPixels(v, 1, 2, true);
    expect(p.shape).toEqual([1, 4, 12]);
    // Patch 1 = frame 0, columns 2–3; channel 0 pixels are v[0,0,0,0..1,2..3].
    const raw = await v.data();
    const px = [0, 1].flatMap((y) => [2, 3].map((x) => raw[y * 4 + x]));
    const mean = px.reduce((a, b) => a + b) / 4;
    const sd = Math.sqrt(px.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    const got = await p.data();
    const ch0 = [0, 1, 2, 3].map((k) => got[1 * 12 + k * 3]);
    ch0.forEach((g, k) => expect(g).toBeCloseTo((px[k] - mean) / (sd + 1e-6), 5));
    tf.dispose([v, p]);
  });

  test('a frozen InternVideo2 teacher gives the official outputs, L2-normalised, and its pooling attention', async () => {
    const enc = await VideoEncoder.fromPretrained(join(TINY, 'weights.safetensors'), { config: tinyArgs });
    const io = await readTensors(join(TINY, 'io.safetensors'));
    const teacher = new EncoderTeacher(enc, { clipReturnLayer: 2 }); // a VideoEncoder as loaded
    expect(teacher.returnIndex).toEqual([2, 1]);
    const out = await teacher.forward(io.get('video') as tf.Tensor5D);
    expect(out.middle.shape).toEqual([2, 2, 65, 64]);
    const last = tf.squeeze(tf.slice(out.middle, [1, 0, 0, 0], [1, -1, -1, -1]), [0]);
    const ref = l2Normalize(io.get('full.x_vis')!, -1);
    expect(await maxRelErr(last, ref)).toBeLessThan(1e-5);
    const refPool = l2Normalize(io.get('full.x_pool_vis')!, -1);
    expect(await maxRelErr(out.final!, refPool)).toBeLessThan(1e-5);
    expect(out.attn!.shape).toEqual([2, 64]);
    const sums = await tf.sum(out.attn!, 1).data();
    for (const s of sums) expect(s).toBeGreaterThan(0.5), expect(s).toBeLessThan(1);
    expect(enc.model.parameters({ trainable: true })).toEqual([]);
    // Per-frame mode: one attention row per frame, CLS averaged over the frames.
    const enc2 = await VideoEncoder.fromPretrained(join(TINY, 'weights.safetensors'), { config: tinyArgs });
    const pf = await new EncoderTeacher(enc2.model, { clipReturnLayer: 1, perFrame: true }).forward(io.get('video') as tf.Tensor5D);
    expect(pf.middle.shape).toEqual([1, 2, 65, 64]);
    expect(pf.attn!.shape).toEqual([8, 16]);
    expect(pf.final!.shape).toEqual([2, 32]);
    tf.dispose([out.middle, out.final!, out.attn!, last, ref, refPool, pf.middle, pf.final!, pf.attn!, ...io.values()]);
    enc.dispose();
    enc2.dispose();
  });

  test('precomputed teacher features: written once per sample, read back per batch in any order', async () => {
    const enc = await VideoEncoder.fromPretrained(join(TINY, 'weights.safetensors'), { config: tinyArgs });
    const io = await readTensors(join(TINY, 'io.safetensors'));
    const live = new EncoderTeacher(enc.model, { clipReturnLayer: 2 });
    const video = io.get('video') as tf.Tensor5D;
    const bytes = await serializeTeacherFeatures(live, [{ video, keys: ['clip_a', 'clip_b'] }], { prefix: 'clip_' });
    const pre = await PrecomputedTeacher.open(bytes, { prefix: 'clip_' });
    const ref = await live.forward(video);
    const got = await pre.forward(video, { keys: ['clip_b', 'clip_a'] });
    const swap = (t: tf.Tensor, axis: number) => tf.concat(tf.split(t, 2, axis).reverse(), axis);
    expect(got.middle.shape).toEqual([2, 2, 65, 64]);
    expect(await maxRelErr(got.middle, swap(ref.middle, 1))).toBe(0);
    expect(await maxRelErr(got.final!, swap(ref.final!, 0))).toBe(0);
    expect(await maxRelErr(got.attn!, swap(ref.attn!, 0))).toBe(0);
    await expect(pre.forward(video, { keys: ['clip_a', 'clip_z'] })).rejects.toThrow(TeacherFeatureError);
    await expect(pre.forward(video, { keys: ['clip_a', 'clip_z'] })).rejects.toThrow(/clip_z\.clip_middle/);
    await pre.close();
    tf.dispose([ref.middle, ref.final!, ref.attn!, got.middle, got.final!, got.attn!, ...io.values()]);
    enc.dispose();
  });

  test('run_distill.py: a small student learns from a frozen iv2 teacher with the whole-video mask', async () => {
    const teacherEnc = await VideoEncoder.fromPretrained(join(TINY, 'weights.safetensors'), { config: tinyArgs });
    const io = await readTensors(join(TINY, 'io.safetensors'));
    const student = VideoEncoder.create({
      config: {
        img_size: 56, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 4,
        clip_return_layer: 2, clip_teacher_embed_dim: 64, clip_teacher_final_dim: 32, clip_student_decoder: 'MLP_Decoder',
      },
      seed: 3,
    }).model.train();
    const obj = new UnmaskedTeacherDistillation(
      student,
      { clip: new EncoderTeacher(teacherEnc.model, { clipReturnLayer: 2, clipReturnInterval: 1 }) },
      { mask_type: 'attention', mask_ratio: 0.8, td_ratio: 1 },
      { draws: new RngDraws(new Rng(5)) },
    );
    const batch = { video: io.get('video') as tf.Tensor5D };
    const p = await obj.prepare(batch);
    // Whole-video rows: 64 patches per clip, 64 − int(51.2) = 13 visible + CLS.
    expect(p.mask.shape).toEqual([2, 65]);
    expect(p.visible.shape).toEqual([2, 14]);
    obj.release(p);
    const trainer = new Trainer(obj, { adamw: { lr: 3e-3, weightDecay: 0.05 }, clipGrad: 5 });
    const first = await trainer.step(batch);
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 25; i++) last = await trainer.step(batch);
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(first.parts)).toEqual(['loss_clip_middle', 'loss_clip_final']);
    expect(last.loss).toBeLessThan(first.loss * 0.7);
    trainer.dispose();
    student.dispose();
    teacherEnc.dispose();
    tf.dispose([...io.values()]);
  });

  test('pixel reconstruction trains a tiny student and its decoder without leaks', async () => {
    const student = VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2 }, seed: 1 }).model.train();
    const obj = new PixelReconstruction(student, { mask_ratio: 0.5, decoder_embed_dim: 32, decoder_depth: 1, decoder_num_heads: 2 });
    expect(obj.decoder.parameters().map((p) => p.name)).toContain('decoder.blocks.0.attn.qkv.weight');
    expect(obj.parameters().some((p) => p.name === 'pixel_decoder.mask_token')).toBe(true);
    const video = new Rng(2).normalTensor([2, 3, 2, 28, 28]) as tf.Tensor5D;
    const trainer = new Trainer(obj, { adamw: { lr: 3e-3, weightDecay: 0 } });
    const first = await trainer.step({ video });
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 30; i++) last = await trainer.step({ video });
    expect(tf.memory().numTensors).toBe(before);
    expect(last.parts.loss_pixel).toBeLessThan(first.parts.loss_pixel * 0.8);
    trainer.dispose();
    obj.dispose();
    student.dispose();
    video.dispose();
  });

  test('typed errors name the field', async () => {
    const student = VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 1, num_heads: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2 } }).model;
    expect(() => new UnmaskedTeacherDistillation(student, { clip: new EncoderTeacher(student) })).toThrow(ObjectiveConfigError);
    expect(() => new PixelReconstruction(student, { mask_ratio: 1.5 })).toThrow(/mask_ratio/);
    expect(() => new PixelReconstruction(student, { decoder_embed_dim: 30, decoder_num_heads: 4 })).toThrow(/decoder_num_heads/);
    const s2 = VideoEncoder.create({ config: { img_size: 28, embed_dim: 32, depth: 1, num_heads: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 2, clip_return_layer: 1, clip_teacher_embed_dim: 8, clip_teacher_final_dim: 0 } }).model;
    const teacher = { forward: async () => ({ middle: tf.zeros([1, 1, 9, 8]) as tf.Tensor4D }) };
    const obj = new UnmaskedTeacherDistillation(s2, { clip: teacher }, { td_ratio: 1, distill_final_features: false });
    await expect(obj.prepare({ video: tf.zeros([1, 3, 2, 28, 28]) as tf.Tensor5D })).rejects.toThrow(TeacherOutputError);
    await expect(obj.prepare({ video: tf.zeros([1, 3, 3, 28, 28]) as tf.Tensor5D })).rejects.toThrow(BatchShapeError);
    const replay = new ReplayDraws(new Map([['video_mask', tf.zeros([2, 4], 'bool')]]));
    expect(() => replay.randomMask('tube_mask', 2, 4, 2)).toThrow(DrawReplayError);
    expect(() => replay.randomMask('video_mask', 3, 4, 2)).toThrow(/recorded shape \[2,4\]/);
    student.dispose();
    s2.dispose();
  });
});

// Fresh attention-guided masks (Gumbel top-k on the device) inside training steps on WebGPU.
describe('a distillation step with fresh draws (webgpu)', () => {
  test('two steps, nothing left behind', async () => {
    await initBackend('webgpu');
    const teacherEnc = await VideoEncoder.fromPretrained(join(TINY, 'weights.safetensors'), { config: tinyArgs });
    const io = await readTensors(join(TINY, 'io.safetensors'));
    const student = VideoEncoder.create({
      config: { img_size: 56, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 16, num_frames: 4, clip_return_layer: 2, clip_teacher_embed_dim: 64, clip_teacher_final_dim: 32, clip_student_decoder: 'MLP_Decoder' },
      seed: 3,
    }).model.train();
    const obj = new UnmaskedTeacherDistillation(student, { clip: new EncoderTeacher(teacherEnc, { clipReturnLayer: 2 }) }, { mask_ratio: 0.8, td_ratio: 1 }, { draws: new RngDraws(new Rng(5)) });
    const trainer = new Trainer(obj, { adamw: { lr: 1e-3 }, clipGrad: 5 });
    const batch = { video: io.get('video') as tf.Tensor5D };
    await trainer.step(batch);
    const before = tf.memory().numTensors;
    const r = await trainer.step(batch);
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(r.loss)).toBe(true);
    trainer.dispose();
    student.dispose();
    teacherEnc.dispose();
    tf.dispose([...io.values()]);
  });
});
