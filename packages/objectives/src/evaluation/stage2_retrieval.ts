import * as tf from '@tensorflow/tfjs-core';
import type { InternVideo2 } from '@iv2/encoder';
import type { InternVideo2Stage2Text } from '@iv2/llm-bridge';
import { EvaluationInputError } from '../errors.js';
import { type MatchScorer, type RetrievalEvaluation, retrievalEvaluation } from './retrieval_utils.js';

/** What `extract_text_feats` / `extract_vision_feats` keep for the evaluation. */
export interface RetrievalFeatures {
  /** `[N, L, hidden]` text-mode states and their mask `[N, L]`. */
  textFeats: tf.Tensor3D;
  textAtts: tf.Tensor2D;
  /** `[V, M, C]` vision tokens (unmasked) and `[V, clip_embed_dim]` pooled. */
  imageFeats: tf.Tensor3D;
  pooledImageFeats: tf.Tensor2D;
}

/**
 * Features of a retrieval set with a stage-2 model: `videos` yields `[b, 3, T, H, W]` batches (no mask, eval mode),
 * `texts` yields tokenised `[b, L]` batches; nothing is kept but the features.
 */
export async function extractRetrievalFeatures(
  vision: InternVideo2,
  text: InternVideo2Stage2Text,
  videos: Iterable<tf.Tensor5D> | AsyncIterable<tf.Tensor5D>,
  texts: Iterable<{ inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D }> | AsyncIterable<{ inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D }>,
): Promise<RetrievalFeatures> {
  const tf1: tf.Tensor[] = [];
  const ta: tf.Tensor[] = [];
  for await (const t of texts) {
    const { textEmbeds, pooledTextEmbeds } = text.encodeText(t.inputIds, t.attentionMask);
    pooledTextEmbeds.dispose();
    tf1.push(textEmbeds);
    ta.push(tf.clone(t.attentionMask));
  }
  const vf: tf.Tensor[] = [];
  const vp: tf.Tensor[] = [];
  for await (const v of videos) {
    const out = vision.forward(v, { tokensOnly: true });
    vf.push(out.tokens);
    vp.push(vision.clipProjector.forward(out.tokens));
  }
  if (!tf1.length || !vf.length) throw new EvaluationInputError('features', 'no texts or no videos');
  const cat = <T extends tf.Tensor>(xs: tf.Tensor[]) => {
    const r = tf.concat(xs, 0) as T;
    tf.dispose(xs);
    return r;
  };
  return { textFeats: cat(tf1), textAtts: cat(ta), imageFeats: cat(vf), pooledImageFeats: cat(vp) };
}

/**
 * The re-ranking of `evaluation`: the fusion layers over (text states, all video tokens) in chunks of `batchSize`
 * (32 officially), score = raw logit of class 1 of `itm_head`.
 */
export function stage2MatchScorer(text: InternVideo2Stage2Text, f: RetrievalFeatures, batchSize = 32): MatchScorer {
  return async (dir, query, candidates) => {
    const out = new Float32Array(candidates.length);
    for (let j = 0; j < candidates.length; j += batchSize) {
      const chunk = candidates.slice(j, j + batchSize);
      const s = tf.tidy(() => {
        const ci = tf.tensor1d(chunk, 'int32');
        const qi = tf.fill([chunk.length], query, 'int32');
        const [ti, vi] = dir === 'v2t' ? [ci, qi] : [qi, ci];
        const fused = text.fuse({ textEmbeds: tf.gather(f.textFeats, ti) as tf.Tensor3D, attentionMask: tf.gather(f.textAtts, ti), visionEmbeds: tf.gather(f.imageFeats, vi) as tf.Tensor3D });
        return tf.reshape(tf.slice(text.itmLogits(fused), [0, 1], [-1, 1]), [-1]);
      });
      out.set((await s.data()) as Float32Array, j);
      s.dispose();
    }
    return out;
  };
}

/** `evaluation` of a stage-2 model on extracted features: `_sim`, `_dsl` and `_match` metrics. */
export async function evaluateStage2Retrieval(
  text: InternVideo2Stage2Text,
  f: RetrievalFeatures,
  gt: { txt2vid: Array<number | number[]>; vid2txt: Array<number | number[]> },
  opts: { kTest?: number; match?: boolean; numPrompts?: number } = {},
): Promise<RetrievalEvaluation> {
  const visionProj = text.projectVision(f.pooledImageFeats);
  const textProj = text.projectText(f.textFeats);
  try {
    return await retrievalEvaluation({
      visionProj,
      textProj,
      txt2vid: gt.txt2vid,
      vid2txt: gt.vid2txt,
      kTest: opts.kTest ?? 128,
      numPrompts: opts.numPrompts,
      match: opts.match === false ? undefined : stage2MatchScorer(text, f),
    });
  } finally {
    tf.dispose([visionProj, textProj]);
  }
}
