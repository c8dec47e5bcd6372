import * as tf from '@tensorflow/tfjs-core';
import { type Frames, l2Normalize } from '@iv2/core';
import { preprocessFrames } from '@iv2/encoder';
import { promptTexts } from '@iv2/objectives';
import { frameIndices } from './sampling.js';
import { poolAttention } from './attention.js';
import type { Stage2Model } from './stage2.js';

/** A window of a video: its time span and the frames the model sees (the official `middle` sampler over the span). */
export interface VideoWindow {
  start: number;
  end: number;
  frames: number[];
}

/** Windows of `seconds` every `stride` seconds over `numVideoFrames` frames at `fps`; a short video is one window. */
export function videoWindows(numVideoFrames: number, fps: number, numFrames: number, seconds: number, stride = seconds): VideoWindow[] {
  const duration = numVideoFrames / fps;
  const out: VideoWindow[] = [];
  if (duration <= seconds) {
    out.push({ start: 0, end: duration, frames: frameIndices({ numFrames, numVideoFrames, sample: 'middle' }) });
    return out;
  }
  for (let s = 0; s + seconds <= duration + 1e-9; s += stride) {
    const a = Math.round(s * fps);
    const n = Math.max(1, Math.round(seconds * fps));
    out.push({ start: s, end: s + seconds, frames: frameIndices({ numFrames, numVideoFrames: n, sample: 'middle' }).map((i) => a + i) });
  }
  return out;
}

/** The frames at `indices` of a packed rgb24 sequence. */
export function pickFrames(all: Frames, indices: number[]): Frames {
  const n = all.width * all.height * 3;
  const data = new Uint8Array(indices.length * n);
  indices.forEach((f, k) => data.set(all.data.subarray(f * n, (f + 1) * n), k * n));
  return { data, count: indices.length, width: all.width, height: all.height };
}

export interface WindowEmbeddings {
  /** L2-normalised `vision_proj` of the pooled features, `[W, D]` row-major. */
  embeddings: Float32Array;
  dim: number;
  /** Per window, the frame (video index) that the pooling query attends to most. */
  bestFrame: number[];
}

/** Embeds windows (batches of `batch`): vision tower → attention pooling → `vision_proj` → L2 norm. */
export async function embedWindows(m: Stage2Model, all: Frames, windows: VideoWindow[], batch = 8): Promise<WindowEmbeddings> {
  const c = m.vision.config;
  const rows: Float32Array[] = [];
  const bestFrame: number[] = [];
  for (let i = 0; i < windows.length; i += batch) {
    const part = windows.slice(i, i + batch);
    const [emb, att] = tf.tidy(() => {
      const video = tf.concat(part.map((w) => preprocessFrames(pickFrames(all, w.frames), { size: c.img_size })), 0) as tf.Tensor5D;
      const out = m.vision.forward(video, { tokensOnly: true });
      const pooled = m.vision.clipProjector.forward(out.tokens);
      return [l2Normalize(m.text.projectVision(pooled), -1), poolAttention(m.vision, out.tokens)];
    });
    rows.push((await emb.data()) as Float32Array);
    const a = (await att.data()) as Float32Array;
    tf.dispose([emb, att]);
    const L = att.shape[1];
    const tub = c.tubelet_size;
    const times = c.num_frames / tub;
    const perTime = (L - 1) / times;
    part.forEach((w, b) => {
      let best = 0;
      let bestMass = -1;
      for (let t = 0; t < times; t++) {
        let mass = 0;
        for (let p = 0; p < perTime; p++) mass += a[b * L + 1 + t * perTime + p];
        if (mass > bestMass) [best, bestMass] = [t, mass];
      }
      // token time t spans input frames t·tubelet … (t+1)·tubelet − 1: show the middle one
      bestFrame.push(w.frames[Math.min(best * tub + (tub >> 1), w.frames.length - 1)]);
    });
  }
  const dim = rows[0].length / Math.min(batch, windows.length);
  const embeddings = new Float32Array(windows.length * dim);
  let o = 0;
  for (const r of rows) {
    embeddings.set(r, o);
    o += r.length;
  }
  return { embeddings, dim, bestFrame };
}

/** L2-normalised `text_proj` of the [CLS] state, `[N, D]`. */
export async function embedTexts(m: Stage2Model, texts: string[]): Promise<Float32Array> {
  const tok = m.tokenizer.callTensors(texts, { maxLength: m.maxTxtL, padding: 'max_length' });
  const e = m.text.embedText(tok.inputIds, tok.attentionMask);
  const out = (await e.data()) as Float32Array;
  tf.dispose([e, tok.inputIds, tok.attentionMask]);
  return out;
}

/** Cosine of one query against every row; returns the scores and the rows best first (ties: lower index first). */
export function rankRows(rows: Float32Array, dim: number, query: Float32Array): { scores: number[]; order: number[] } {
  const n = rows.length / dim;
  const scores = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += rows[i * dim + d] * query[d];
    return s;
  });
  const order = [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b);
  return { scores, order };
}

/**
 * Zero-shot classification with the user's labels: each label through the 16 official templates
 * (`kinetics_templates_action_clip`), cosines averaged over them, softmax with the model's temperature.
 */
export async function zeroShot(m: Stage2Model, rows: Float32Array, dim: number, labels: string[]): Promise<number[][]> {
  const prompts = promptTexts(labels);
  const per = prompts.length / labels.length;
  const t = await embedTexts(m, prompts);
  const temp = (await m.text.temp.data())[0];
  const n = rows.length / dim;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const logits = labels.map((_, c) => {
      let s = 0;
      for (let p = 0; p < per; p++) for (let d = 0; d < dim; d++) s += rows[i * dim + d] * t[(c * per + p) * dim + d];
      return s / per / temp;
    });
    const mx = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - mx));
    const z = ex.reduce((a, b) => a + b, 0);
    out.push(ex.map((e) => e / z));
  }
  return out;
}
