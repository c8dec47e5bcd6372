import * as tf from '@tensorflow/tfjs-core';
import type { InternVideo2 } from '@iv2/encoder';
import type { BertTokenizer, InternVideo2Stage2Text } from '@iv2/llm-bridge';
import { evaluateProbe, ProbeHead, promptTexts, trainProbe, zeroShotClassification } from '@iv2/objectives';
import type { ClipSet } from '../demo/data.js';

/** Class names and per-clip labels of a classification set (`{video, caption}` with the class name as caption). */
export function classesOf(set: ClipSet): { classes: string[]; labels: number[] } {
  const classes = [...new Set(set.captions.map((c) => c[0]))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  return { classes, labels: set.captions.map((c) => index.get(c[0])!) };
}

/** `[N, C, T, H, W]` chunks of a set's frames (stored `[N, T, 3, H, W]`), for evaluation passes. */
export function videoChunks(set: ClipSet, numFrames: number, size: number, chunk = 16): tf.Tensor5D[] {
  const el = numFrames * 3 * size * size;
  const n = set.labels.length;
  const out: tf.Tensor5D[] = [];
  for (let a = 0; a < n; a += chunk) {
    const b = Math.min(n, a + chunk);
    out.push(tf.tidy(() => tf.transpose(tf.tensor5d(set.frames.slice(a * el, b * el), [b - a, numFrames, 3, size, size]), [0, 2, 1, 3, 4]) as tf.Tensor5D));
  }
  return out;
}

/** The frozen encoder's pooled features `[N, D]` (the attention pool's output, before any projection). */
export function pooledFeatures(vision: InternVideo2, set: ClipSet, numFrames: number, size: number): tf.Tensor2D {
  vision.eval();
  const parts: tf.Tensor2D[] = [];
  for (const v of videoChunks(set, numFrames, size)) {
    const o = vision.forward(v);
    parts.push(o.pooled!);
    tf.dispose([v, o.tokens, o.align, o.logits].filter((t) => !!t) as tf.Tensor[]);
  }
  const f = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return f;
}

/**
 * Official zero-shot classification: every class name through the 16 Kinetics templates, text embeddings averaged
 * per class, cosine with the video embedding. Accuracies in percent.
 */
export async function zeroShotEval(
  vision: InternVideo2,
  text: InternVideo2Stage2Text,
  tokenizer: BertTokenizer,
  set: ClipSet,
  o: { numFrames: number; size: number; maxTxtL: number },
): Promise<{ top1: number; top5: number; classes: number; videos: number }> {
  const { classes, labels } = classesOf(set);
  text.eval();
  const pooled = pooledFeatures(vision, set, o.numFrames, o.size);
  try {
    const zs = await zeroShotFromPooled(text, tokenizer, pooled, classes, labels, o.maxTxtL);
    return { ...zs, classes: classes.length, videos: labels.length };
  } finally {
    pooled.dispose();
  }
}

/** Zero-shot top-1 / top-5 (percent) of pooled video features `[N, D]` against `classes` through the templates. */
export async function zeroShotFromPooled(
  text: InternVideo2Stage2Text,
  tokenizer: BertTokenizer,
  pooled: tf.Tensor2D,
  classes: string[],
  labels: number[],
  maxTxtL: number,
): Promise<{ top1: number; top5: number }> {
  const prompts = promptTexts(classes);
  const pt: tf.Tensor[] = [];
  for (let a = 0; a < prompts.length; a += 64) {
    const t = tokenizer.callTensors(prompts.slice(a, a + 64), { maxLength: maxTxtL, padding: 'max_length' });
    const { textEmbeds, pooledTextEmbeds } = text.encodeText(t.inputIds, t.attentionMask);
    pt.push(text.projectText(textEmbeds));
    tf.dispose([textEmbeds, pooledTextEmbeds, t.inputIds, t.attentionMask]);
  }
  const textProj = tf.concat(pt, 0) as tf.Tensor2D;
  const visionProj = text.projectVision(pooled);
  const zs = await zeroShotClassification({ visionProj, textProj, labels, numClasses: classes.length });
  tf.dispose([...pt, textProj, visionProj]);
  return { top1: zs.top1, top5: zs.top5 };
}

/**
 * Linear probing (`run_linear_probing.py`): a LayerNorm + Linear head trained on the frozen encoder's pooled features
 * of `train` with AdamW and label smoothing, scored on `test`. Classes come from `train`; a test clip of a class the
 * training set lacks counts as wrong.
 */
export async function linearProbeEval(
  vision: InternVideo2,
  train: ClipSet,
  test: ClipSet,
  o: { numFrames: number; size: number; epochs: number; lr: number; batchSize: number; seed: number },
): Promise<{ top1: number; top5: number; classes: number; train: number; test: number; losses: number[] }> {
  const { classes, labels } = classesOf(train);
  const index = new Map(classes.map((c, i) => [c, i]));
  const testLabels = test.captions.map((c) => index.get(c[0]) ?? -1);
  const ftr = pooledFeatures(vision, train, o.numFrames, o.size);
  const fte = pooledFeatures(vision, test, o.numFrames, o.size);
  const head = new ProbeHead({ dim: ftr.shape[1], numClasses: classes.length, seed: o.seed });
  try {
    const losses = await trainProbe(head, { features: ftr, labels, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, weightDecay: 1e-4, smoothing: 0.1, seed: o.seed });
    const r = await evaluateProbe(head, fte, testLabels);
    return { ...r, classes: classes.length, train: labels.length, test: testLabels.length, losses };
  } finally {
    tf.dispose([ftr, fte]);
    head.dispose();
  }
}
