import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '@iv2/core';
import { EvaluationInputError, itmEval, rankOfGroundTruth, retrievalEvaluation, zeroShotClassification, promptTexts } from '../src/index.js';

// Three videos, four texts (video 0 has two captions). Unit vectors make the cosine matrix exact:
//   S = v·tᵀ = [[1,0,0,0],[0,1,1,0],[1,0,0,0]], with ties in every row.
// Ranks are those of itm_eval's reversed argsort: higher score first, equal scores → higher index first.
const vid2txt = [[0, 1], [2], [3]];
const txt2vid = [0, 0, 1, 2];
const e = (i: number) => [0, 1, 2, 3].map((j) => (j === i ? 1 : 0));

describe('retrieval_utils.evaluation (cpu)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  test('ranks with ties, by hand', () => {
    const S = new Float32Array([1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0]);
    // v0 → t0 first (rank 0); v1: t1 and t2 tie, t2 (higher index) first → 0; v2: t3 after t0, ahead of t1, t2 → 1.
    expect(rankOfGroundTruth(S, 4, vid2txt)).toEqual([0, 0, 1]);
    const St = new Float32Array([1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
    // t0: v2 ties v0 and comes first → 1; t1: v1, then v2 (tie, higher index) → 2; t2 → 0; t3: all tie, v2 last index → 0.
    expect(rankOfGroundTruth(St, 3, txt2vid)).toEqual([1, 2, 0, 0]);
  });

  test('sim and dsl metrics equal the direct computation', async () => {
    const visionProj = tf.tensor2d([e(0), e(1), e(0)].map((r) => r.map((x) => 3 * x)));
    const textProj = tf.tensor2d([e(0), e(1), e(1), e(2)].map((r) => r.map((x) => 0.5 * x)));
    const before = tf.memory().numTensors;
    const r = await retrievalEvaluation({ visionProj, textProj, txt2vid, vid2txt });
    expect(tf.memory().numTensors).toBe(before); // nothing left behind
    expect(r.sim).toEqual({
      v2t_r1: 66.67, v2t_r5: 100, v2t_r10: 100, v2t_r_mean: 88.89,
      t2v_r1: 50, t2v_r5: 100, t2v_r10: 100, t2v_r_mean: 83.33,
      r_mean: 86.11,
      v2t_medr: 1, v2t_meanr: 1.33, t2v_medr: 1.5, t2v_meanr: 1.75,
    });
    expect(Array.from(r.scores.i2t)).toEqual([1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0]);
    // The dual softmax of this matrix keeps the same orders here, so the same metrics.
    expect(r.dsl.v2t_r1).toBe(66.67);
    expect(r.match).toBeUndefined();
    tf.dispose([visionProj, textProj]);
  });

  test('the matching head re-ranks the top k only; the rest keep −100', async () => {
    const visionProj = tf.tensor2d([e(0), e(1), e(0)]);
    const textProj = tf.tensor2d([e(0), e(1), e(1), e(2)]);
    const calls: Array<[string, number, number[]]> = [];
    const gt = (v: number, t: number) => txt2vid[t] === v;
    const r = await retrievalEvaluation({
      visionProj, textProj, txt2vid, vid2txt, kTest: 2,
      match: async (dir, q, cands) => {
        calls.push([dir, q, [...cands]]);
        return Float32Array.from(cands, (c) => (dir === 'v2t' ? gt(q, c) : gt(c, q)) ? 10 : -1);
      },
    });
    // Top 2 per row of S (ties → lower index first, as torch.topk on CPU).
    expect(calls).toEqual([
      ['v2t', 0, [0, 1]], ['v2t', 1, [1, 2]], ['v2t', 2, [0, 1]],
      ['t2v', 0, [0, 2]], ['t2v', 1, [1, 0]], ['t2v', 2, [1, 0]], ['t2v', 3, [0, 1]],
    ]);
    expect(Array.from(r.scores.i2tMatch!)).toEqual([10, 10, -100, -100, -100, -1, 10, -100, -1, -1, -100, -100]);
    // v2's caption t3 was not among its top 2: it sits at −100 behind t0, t1 and ahead of t2 → rank 2.
    expect(rankOfGroundTruth(r.scores.i2tMatch!, 4, vid2txt)).toEqual([0, 0, 2]);
    expect(r.match!.v2t_r1).toBe(66.67);
    expect(r.match!.v2t_r5).toBe(100);
    expect(r.match!.t2v_r1).toBe(75);
    tf.dispose([visionProj, textProj]);
  });

  test('itm_eval checks its inputs', () => {
    expect(() => itmEval(new Float32Array(3), new Float32Array(3), [0, 1], [0, 1])).toThrow(EvaluationInputError);
    expect(() => rankOfGroundTruth(new Float32Array(4), 2, [0, 5])).toThrow(/outside/);
  });

  test('zero-shot classification averages the prompts of each class', async () => {
    const classes = ['jumping', 'running'];
    const templates = ['a video of {}', '{}'];
    expect(promptTexts(classes, templates)).toEqual(['a video of jumping', 'jumping', 'a video of running', 'running']);
    // Videos 0, 1 are class 0, video 2 class 1. Prompt 0 of class 1 points at video 0 (a wrong but strong prompt),
    // the mean over the class's two prompts still ranks class 0 first for video 0.
    const visionProj = tf.tensor2d([[1, 0], [1, 0.2], [0, 1]]);
    const textProj = tf.tensor2d([[1, 0], [1, 0.1], [1, 0.05], [0, 1]]);
    const r = await zeroShotClassification({ visionProj, textProj, labels: [0, 0, 1], numClasses: 2, numPrompts: 2 });
    expect(r.top1).toBe(100);
    expect(r.top5).toBe(100);
    expect(r.avg).toBe(100);
    tf.dispose([visionProj, textProj]);
  });
});
