import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize } from '@iv2/core';
import { EvaluationInputError } from '../errors.js';

/** The official `itm_eval` keys (percent, rounded to 2 decimals), plus mean and median ranks (1-based). */
export interface RetrievalMetrics {
  v2t_r1: number;
  v2t_r5: number;
  v2t_r10: number;
  v2t_r_mean: number;
  t2v_r1: number;
  t2v_r5: number;
  t2v_r10: number;
  t2v_r_mean: number;
  r_mean: number;
  v2t_medr: number;
  v2t_meanr: number;
  t2v_medr: number;
  t2v_meanr: number;
}

/**
 * 0-based rank of the best-ranked ground truth per query row, as `itm_eval` computes it from
 * `np.argsort(score)[::-1]`: higher scores first; among equal scores the higher index comes first (the reversed
 * stable sort numpy gives these rows).
 */
export function rankOfGroundTruth(scores: Float32Array | number[], cols: number, gt: Array<number | number[]>): number[] {
  const rows = scores.length / cols;
  if (gt.length !== rows) throw new EvaluationInputError('ground truth', `${gt.length} entries for ${rows} query rows`);
  const ranks: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.prototype.slice.call(scores, r * cols, (r + 1) * cols) as number[];
    const rankOf = (j: number) => {
      if (!(j >= 0 && j < cols)) throw new EvaluationInputError('ground truth', `index ${j} of row ${r} is outside 0…${cols - 1}`);
      let n = 0;
      const s = row[j];
      for (let i = 0; i < cols; i++) if (row[i] > s || (row[i] === s && i > j)) n++;
      return n;
    };
    const g = gt[r];
    ranks.push(Array.isArray(g) ? Math.min(...g.map(rankOf)) : rankOf(g));
  }
  return ranks;
}

const pct = (ranks: number[], k: number) => (100 * ranks.filter((r) => r < k).length) / ranks.length;
const round2 = (x: number) => Math.round(x * 100) / 100;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * `itm_eval`: R@1/5/10 of both directions from video→text scores `[V, N]` and text→video scores `[N, V]`
 * (row-major), `txt2vid[t]` the video of text t, `vid2txt[v]` the texts of video v.
 */
export function itmEval(
  scoresV2t: Float32Array,
  scoresT2v: Float32Array,
  txt2vid: Array<number | number[]>,
  vid2txt: Array<number | number[]>,
): RetrievalMetrics {
  const V = vid2txt.length;
  const N = txt2vid.length;
  if (scoresV2t.length !== V * N || scoresT2v.length !== V * N) {
    throw new EvaluationInputError('scores', `${scoresV2t.length} / ${scoresT2v.length} scores for ${V} videos × ${N} texts`);
  }
  const vr = rankOfGroundTruth(scoresV2t, N, vid2txt);
  const tr = rankOfGroundTruth(scoresT2v, V, txt2vid);
  const [v1, v5, v10, t1, t5, t10] = [pct(vr, 1), pct(vr, 5), pct(vr, 10), pct(tr, 1), pct(tr, 5), pct(tr, 10)];
  const vm = (v1 + v5 + v10) / 3;
  const tm = (t1 + t5 + t10) / 3;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b + 1, 0) / xs.length;
  return {
    v2t_r1: round2(v1),
    v2t_r5: round2(v5),
    v2t_r10: round2(v10),
    v2t_r_mean: round2(vm),
    t2v_r1: round2(t1),
    t2v_r5: round2(t5),
    t2v_r10: round2(t10),
    t2v_r_mean: round2(tm),
    r_mean: round2((vm + tm) / 2),
    v2t_medr: median(vr) + 1,
    v2t_meanr: round2(mean(vr)),
    t2v_medr: median(tr) + 1,
    t2v_meanr: round2(mean(tr)),
  };
}

/**
 * Scores of the matching head (raw logit of class 1) for one query against candidates, in candidate order:
 * `v2t` = video `query` against texts `candidates`, `t2v` = text `query` against videos `candidates`.
 */
export type MatchScorer = (direction: 'v2t' | 't2v', query: number, candidates: number[]) => Promise<Float32Array>;

export interface RetrievalEvaluationOptions {
  /** `vision_proj(pooled)` `[V, D]` and `text_proj(CLS)` `[N, D]` (normalised here, as `get_sim`). */
  visionProj: tf.Tensor2D;
  textProj: tf.Tensor2D;
  txt2vid: Array<number | number[]>;
  vid2txt: Array<number | number[]>;
  /** `k_test` (128 in the released configs). */
  kTest?: number;
  /** The ITM re-ranking; without it only `sim` and `dsl` are reported. */
  match?: MatchScorer;
  /**
   * Texts come in groups of this many prompts per class (action recognition, `num_prompts`): the softmaxed
   * scores are averaged over each group before ranking, and `txt2vid` / `vid2txt` index the classes.
   */
  numPrompts?: number;
}

export interface RetrievalEvaluation {
  /** ITC cosine similarities. */
  sim: RetrievalMetrics;
  /** Dual softmax. */
  dsl: RetrievalMetrics;
  /** Top-k re-ranked by the matching head (−100 outside the top k). */
  match?: RetrievalMetrics;
  /** The raw score matrices (before the row softmax), row-major: `i2t` `[V, N]`, `t2i` `[N, V]`. */
  scores: { i2t: Float32Array; t2i: Float32Array; i2tMatch?: Float32Array; t2iMatch?: Float32Array };
}

/** Row-major top-k indices of each row (descending score; ties by the lower index first, as torch.topk on CPU). */
function topk(scores: Float32Array, cols: number, k: number): number[][] {
  const rows = scores.length / cols;
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: cols }, (_, i) => i);
    idx.sort((a, b) => scores[r * cols + b] - scores[r * cols + a] || a - b);
    out.push(idx.slice(0, k));
  }
  return out;
}

async function rowSoftmax(x: Float32Array, rows: number, cols: number): Promise<Float32Array> {
  const t = tf.tensor2d(x, [rows, cols]);
  const s = tf.softmax(t, -1);
  const d = (await s.data()) as Float32Array;
  tf.dispose([t, s]);
  return d;
}

/**
 * `retrieval_utils.evaluation` for one media type: ITC similarities, their dual softmax, and the matching-head
 * re-ranking of the top `k_test` candidates per query (only those pairs are scored; the rest keep −100). Every
 * score matrix is row-softmaxed in float32 before ranking, as the official function returns them.
 */
export async function retrievalEvaluation(o: RetrievalEvaluationOptions): Promise<RetrievalEvaluation> {
  const V = o.visionProj.shape[0];
  const N = o.textProj.shape[0];
  const np = o.numPrompts ?? 1;
  if (N % np) throw new EvaluationInputError('numPrompts', `${N} texts are not groups of ${np}`);
  const classes = N / np;
  const evalPair = async (v2t: Float32Array, t2v: Float32Array) => {
    let a = await rowSoftmax(v2t, V, N);
    let b = await rowSoftmax(t2v, N, V);
    if (np > 1) [a, b] = [meanPromptsCols(a, V, classes, np), meanPromptsRows(b, classes, np, V)];
    return itmEval(a, b, o.txt2vid, o.vid2txt);
  };
  if (o.vid2txt.length !== V) throw new EvaluationInputError('vid2txt', `${o.vid2txt.length} entries for ${V} videos`);
  if (o.txt2vid.length !== classes) throw new EvaluationInputError('txt2vid', `${o.txt2vid.length} entries for ${classes} texts`);
  const [i2tT, dslT, dslTT] = tf.tidy(() => {
    const s = tf.matMul(l2Normalize(o.visionProj, -1, 1e-12), l2Normalize(o.textProj, -1, 1e-12), false, true);
    const dsl = tf.mul(s, tf.transpose(tf.softmax(tf.transpose(s), -1)));
    const st = tf.transpose(s);
    const dslT2 = tf.mul(st, tf.transpose(tf.softmax(s, -1)));
    return [s, dsl, dslT2];
  });
  const i2t = (await i2tT.data()) as Float32Array;
  const t2iT = tf.transpose(i2tT);
  const t2i = (await t2iT.data()) as Float32Array;
  t2iT.dispose();
  const dsl = (await dslT.data()) as Float32Array;
  const dslt = (await dslTT.data()) as Float32Array;
  tf.dispose([i2tT, dslT, dslTT]);
  const res: RetrievalEvaluation = {
    sim: await evalPair(i2t, t2i),
    dsl: await evalPair(dsl, dslt),
    scores: { i2t, t2i },
  };
  if (o.match) {
    const k = o.kTest ?? 128;
    const i2tX = new Float32Array(V * N).fill(-100);
    const tops = topk(i2t, N, Math.min(k, N));
    for (let v = 0; v < V; v++) {
      const sc = await o.match('v2t', v, tops[v]);
      tops[v].forEach((t, j) => (i2tX[v * N + t] = sc[j]));
    }
    const t2iX = new Float32Array(N * V).fill(-100);
    const topsT = topk(t2i, V, Math.min(k, V));
    for (let t = 0; t < N; t++) {
      const sc = await o.match('t2v', t, topsT[t]);
      topsT[t].forEach((v, j) => (t2iX[t * V + v] = sc[j]));
    }
    res.match = await evalPair(i2tX, t2iX);
    res.scores.i2tMatch = i2tX;
    res.scores.t2iMatch = t2iX;
  }
  return res;
}

/** `[rows, classes·np]` → `[rows, classes]`, mean over each class's prompts (`reshape(r, nt, np).mean(-1)`). */
function meanPromptsCols(x: Float32Array, rows: number, classes: number, np: number): Float32Array {
  const out = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let p = 0; p < np; p++) s += x[r * classes * np + c * np + p];
      out[r * classes + c] = s / np;
    }
  }
  return out;
}

/** `[classes·np, cols]` → `[classes, cols]` (`reshape(nt, np, c).mean(1)`). */
function meanPromptsRows(x: Float32Array, classes: number, np: number, cols: number): Float32Array {
  const out = new Float32Array(classes * cols);
  for (let c = 0; c < classes; c++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let p = 0; p < np; p++) s += x[(c * np + p) * cols + j];
      out[c * cols + j] = s / np;
    }
  }
  return out;
}
