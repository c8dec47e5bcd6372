import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { initBackend, lambdaCosine, Rng } from '@iv2/core';
import { frameIndices, loadClassificationAnno, loadRetrievalAnno, syntheticClips, writeSyntheticAnnotations } from '@iv2/data';
import { VideoEncoder } from '@iv2/encoder';
import { InternVideo2Stage2Text } from '@iv2/llm-bridge';
import { evaluateStage2Retrieval, extractRetrievalFeatures, promptTexts, setTrainable, Stage2VisualObjective, Trainer, zeroShotClassification } from '../src/index.js';

// A stage-2 recipe end to end: the synthetic dataset of @iv2/data (its clips in memory — the frames its video
// files encode — and its official retrieval annotations read back by loadRetrievalAnno), a tiny InternVideo2 + BERT
// trained with VTC + VTM through the Trainer, then the official retrieval evaluation on the held-out split.
// wasm: the fastest backend on our CPU-only machines.
const FRAMES = 4;
const SIZE = 28;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'iv2-recipe-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The sampled frames of a clip (`middle`), `[T, 3, H, W]` normalised (the stage-2 layout per sample). */
function toInput(frames: Uint8Array, numVideoFrames: number): Float32Array {
  const idx = frameIndices({ numFrames: FRAMES, numVideoFrames, sample: 'middle' });
  const px = SIZE * SIZE * 3;
  const f = { data: new Uint8Array(idx.length * px) };
  idx.forEach((k, t) => f.data.set(frames.subarray(k * px, (k + 1) * px), t * px));
  const out = new Float32Array(FRAMES * 3 * SIZE * SIZE);
  for (let t = 0; t < FRAMES; t++) {
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < SIZE * SIZE; p++) out[((t * 3 + c) * SIZE * SIZE) + p] = (f.data[(t * SIZE * SIZE + p) * 3 + c] / 255 - MEAN[c]) / STD[c];
    }
  }
  return out;
}

test('VTC + VTM on the synthetic dataset: held-out t2v R@1 well above chance', async () => {
  const t0 = Date.now();
  // The dataset's clips in memory (the frames its video files encode) and its official retrieval annotations.
  const data = syntheticClips({ clipsPerClass: 13, heldOutPerClass: 1, width: SIZE, height: SIZE, numFrames: 8, shapes: ['circle'], seed: 0 });
  const files = await writeSyntheticAnnotations(dir, data.clips);
  const byPath = new Map(data.clips.map((c) => [join(dir, 'videos', c.name), c.frames]));
  const train = await loadRetrievalAnno(join(dir, files.retrieval.train), { dataRoot: join(dir, 'videos') });
  const testSet = await loadRetrievalAnno(join(dir, files.retrieval.test), { dataRoot: join(dir, 'videos') });
  const classIds = new Map<string, number>();
  const classOf = train.img2txt.map((t) => {
    const key = train.texts[t[0]];
    if (!classIds.has(key)) classIds.set(key, classIds.size);
    return classIds.get(key)!;
  });
  const trainClips = train.media.map((m) => toInput(byPath.get(m)!, data.numFrames));
  const testClips = testSet.media.map((m) => toInput(byPath.get(m)!, data.numFrames));
  const tDecode = Date.now() - t0;

  // Word-level vocabulary over the captions: [PAD] 0, [CLS] 1, [SEP] 2, [MASK] 3, [UNK] 4, then the words.
  const words = [...new Set([...train.texts, ...testSet.texts].flatMap((s) => s.split(' ')))].sort();
  const vocab = new Map(words.map((w, i) => [w, i + 5]));
  const L = 12;
  const tokenize = (texts: string[]) => {
    const ids = new Int32Array(texts.length * L);
    const mask = new Int32Array(texts.length * L);
    texts.forEach((s, i) => {
      const toks = [1, ...s.split(' ').map((w) => vocab.get(w) ?? 4).slice(0, L - 2), 2];
      toks.forEach((t, j) => ((ids[i * L + j] = t), (mask[i * L + j] = 1)));
    });
    return { inputIds: tf.tensor2d(ids, [texts.length, L], 'int32'), attentionMask: tf.tensor2d(mask, [texts.length, L], 'int32') };
  };

  // Sized so the outcome does not hang on float rounding (wasm alone and wasm + native follow different
  // trajectories): 12 clips a class, 4×4 patches so motion is visible, and a BERT initialised wide enough
  // (initializer_range 0.2) that its captions start apart — at 0.02 the VTC loss can sit at ln(B) throughout.
  const vision = VideoEncoder.create({
    config: { img_size: SIZE, patch_size: 7, embed_dim: 48, depth: 2, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 32, num_frames: FRAMES, init_values: 1 },
    seed: 1,
  }).model.train();
  const text = InternVideo2Stage2Text.create({
    config: {
      bert: { vocab_size: words.length + 5, hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: L, fusion_layer: 2, encoder_width: 48, initializer_range: 0.2, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 },
      embed_dim: 32,
      vision_width: 32,
      temp: 0.07,
    },
    seed: 2,
  }).train();
  const objective = new Stage2VisualObjective(vision, text, {
    // The official retrieval fine-tuning weights (vtc 1, vtm 1, mlm 0); no video mask at this size.
    loss_weight: { vtc: 1, vtm: 1, mlm: 0 },
    video_mask_type: 'none',
    pad_token_id: 0,
    cls_token_id: 1,
    mask_token_id: 3,
  });
  // A learnable temperature moves ~lr per Adam step: at this lr it would reach the 0.001 clamp within a hundred
  // steps, so it stays fixed here (as the CLIP post-pretraining keeps it).
  expect(setTrainable(objective.parameters(), ['temp'], false)).toBe(1);
  const STEPS = 600;
  const LR = 4e-3;
  const B = 16;
  const trainer = new Trainer(objective, {
    adamw: { lr: LR, betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.05 },
    schedule: lambdaCosine({ base: LR, totalSteps: STEPS, warmupSteps: 10 }),
    clipGrad: 3,
  });
  const rng = new Rng(7);
  const clipSize = FRAMES * 3 * SIZE * SIZE;
  const losses: number[] = [];
  let before = 0;
  for (let s = 0; s < STEPS; s++) {
    if (s === 1) before = tf.memory().numTensors; // after AdamW made its moments
    const pick = Array.from({ length: B }, () => rng.int(0, train.media.length));
    const img = new Float32Array(B * clipSize);
    pick.forEach((v, i) => img.set(trainClips[v], i * clipSize));
    const caps = pick.map((v) => train.texts[train.img2txt[v][rng.int(0, train.img2txt[v].length)]]);
    const tok = tokenize(caps);
    // Clips of one class share their captions, so the class is the sample id (VTC soft targets, VTM positives),
    // as a video id is in the official retrieval fine-tuning.
    const batch = { image: tf.tensor5d(img, [B, FRAMES, 3, SIZE, SIZE]), ...tok, idx: tf.tensor1d(pick.map((v) => classOf[v]), 'int32') };
    const r = await trainer.step(batch);
    losses.push(r.loss);
    tf.dispose([batch.image, batch.inputIds, batch.attentionMask, batch.idx]);
  }
  expect(tf.memory().numTensors).toBe(before);
  const tTrain = Date.now() - t0 - tDecode;

  vision.eval();
  text.eval();
  const videos = (function* () {
    for (let i = 0; i < testClips.length; i += 16) {
      const n = Math.min(16, testClips.length - i);
      const x = new Float32Array(n * clipSize);
      for (let k = 0; k < n; k++) x.set(testClips[i + k], k * clipSize);
      // [b, T, 3, H, W] → [b, 3, T, H, W]
      const t = tf.tensor5d(x, [n, FRAMES, 3, SIZE, SIZE]);
      yield tf.transpose(t, [0, 2, 1, 3, 4]) as tf.Tensor5D;
      t.dispose();
    }
  })();
  const feats = await extractRetrievalFeatures(vision, text, videos, [tokenize(testSet.texts)]);
  const res = await evaluateStage2Retrieval(text, feats, { txt2vid: testSet.txt2img, vid2txt: testSet.img2txt });
  const chance = 100 / testSet.media.length;
  const head = (xs: number[]) => xs.slice(0, 10).reduce((a, b) => a + b) / 10;
  console.log(
    `recipe: ${train.media.length} train / ${testSet.media.length} held-out clips (${testSet.texts.length} texts), frames ${(tDecode / 1000).toFixed(1)} s, ` +
      `${STEPS} steps ${(tTrain / 1000).toFixed(1)} s, loss ${head(losses).toFixed(3)} → ${(losses.slice(-10).reduce((a, b) => a + b) / 10).toFixed(3)}, ` +
      `t2v R@1 sim ${res.sim.t2v_r1} / match ${res.match!.t2v_r1} (chance ${chance.toFixed(2)}), v2t R@1 ${res.sim.v2t_r1}`,
  );
  expect(res.sim.t2v_r1).toBeGreaterThanOrEqual(3 * chance);
  expect(res.sim.v2t_r1).toBeGreaterThanOrEqual(2 * chance);
  expect(head(losses.slice(-10))).toBeLessThan(0.7 * head(losses));
  // Zero-shot classification of the same held-out clips from the official classification annotations: class names
  // in the 16 action prompts (their extra words are unknown to this vocabulary), scores averaged per class.
  const cls = await loadClassificationAnno(join(dir, files.classification.test), { dataRoot: join(dir, 'videos'), classes: data.classes });
  const prompts = promptTexts(cls.classes);
  const tok = tokenize(prompts);
  const zs = tf.tidy(() => {
    const order = cls.media.map((m) => testSet.media.indexOf(m));
    return {
      visionProj: text.projectVision(tf.gather(feats.pooledImageFeats, order)),
      textProj: text.projectText(text.encodeText(tok.inputIds, tok.attentionMask).textEmbeds),
    };
  });
  const zsr = await zeroShotClassification({ visionProj: zs.visionProj, textProj: zs.textProj, labels: cls.labels, numClasses: cls.classes.length });
  console.log(`zero-shot: top-1 ${zsr.top1} / top-5 ${zsr.top5} over ${cls.classes.length} classes × ${prompts.length / cls.classes.length} prompts`);
  expect(zsr.top1).toBeGreaterThan(100 / cls.classes.length);
  expect(zsr.top5).toBeGreaterThanOrEqual(2 * (500 / cls.classes.length));
  tf.dispose([zs.visionProj, zs.textProj, tok.inputIds, tok.attentionMask]);
  tf.dispose([feats.textFeats, feats.textAtts, feats.imageFeats, feats.pooledImageFeats]);
  trainer.dispose();
  vision.dispose();
  text.dispose();
}, 600_000);
