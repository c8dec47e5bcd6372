import type * as tf from '@tensorflow/tfjs-core';
import { preText } from '@iv2/data';
import { EvaluationInputError } from '../errors.js';
import { type MatchScorer, type RetrievalMetrics, retrievalEvaluation } from './retrieval_utils.js';

/** `kinetics_templates_action_clip` of `dataset/text_prompt.py`: the 16 prompts of zero-shot action recognition. */
export const KINETICS_TEMPLATES_ACTION_CLIP = [
  'a photo of action {}',
  'a picture of action {}',
  'Human action of {}',
  '{}, an action',
  '{} this is an action',
  '{}, a video of action',
  'Playing action of {}',
  '{}',
  'Playing a kind of action, {}',
  'Doing a kind of action, {}',
  'Look, the human is {}',
  'Can you recognize the action of {}?',
  'Video classification of {}',
  'A video of {}',
  'The man is {}',
  'The woman is {}',
] as const;

/** Every class with every template, class-major, then `pre_text` (as `build_data_act_rec`). */
export function promptTexts(classes: string[], templates: readonly string[] = KINETICS_TEMPLATES_ACTION_CLIP): string[] {
  return classes.flatMap((c) => templates.map((t) => preText(t.replace('{}', c))));
}

export interface ZeroShotOptions {
  /** `vision_proj(pooled)` of the videos `[V, D]`. */
  visionProj: tf.Tensor2D;
  /** `text_proj(CLS)` of {@link promptTexts} `[classes·templates, D]`. */
  textProj: tf.Tensor2D;
  /** Class index of every video. */
  labels: number[];
  numClasses: number;
  numPrompts?: number;
  match?: MatchScorer;
  kTest?: number;
}

export interface ZeroShotResult {
  /** Top-1 / top-5 accuracy in percent (`v2t_r1`, `v2t_r5` of the class texts) and their mean ("AVG"). */
  top1: number;
  top5: number;
  avg: number;
  sim: RetrievalMetrics;
  dsl: RetrievalMetrics;
  match?: RetrievalMetrics;
}

/**
 * Zero-shot action recognition as the official evaluation runs it: retrieval between videos and prompted class
 * names, scores averaged over the prompts of a class, accuracy = video→text R@1 / R@5 (headline from `match`
 * when a matching head is given, else from `sim`).
 */
export async function zeroShotClassification(o: ZeroShotOptions): Promise<ZeroShotResult> {
  const np = o.numPrompts ?? KINETICS_TEMPLATES_ACTION_CLIP.length;
  if (o.labels.some((l) => !(l >= 0 && l < o.numClasses))) throw new EvaluationInputError('labels', `a label is outside 0…${o.numClasses - 1}`);
  const txt2vid = Array.from({ length: o.numClasses }, () => [] as number[]);
  o.labels.forEach((l, v) => txt2vid[l].push(v));
  const r = await retrievalEvaluation({
    visionProj: o.visionProj,
    textProj: o.textProj,
    txt2vid,
    vid2txt: o.labels,
    numPrompts: np,
    match: o.match,
    kTest: o.kTest,
  });
  const head = r.match ?? r.sim;
  return { top1: head.v2t_r1, top5: head.v2t_r5, avg: Math.round(((head.v2t_r1 + head.v2t_r5) / 2) * 100) / 100, sim: r.sim, dsl: r.dsl, match: r.match };
}
