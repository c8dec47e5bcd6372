// The logits processors and warpers of transformers' generation/logits_process.py, on one row of host scores:
// repetition penalty, temperature, top-k, top-p, then argmax or a draw.
import type { Rng } from '@iv2/core';

/** RepetitionPenaltyLogitsProcessor: a seen token's score is divided by p (multiplied when negative). */
export function applyRepetitionPenalty(scores: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    if (id < 0 || id >= scores.length) continue;
    const s = scores[id];
    scores[id] = s < 0 ? s * penalty : s / penalty;
  }
}

export function applyTemperature(scores: Float32Array, t: number): void {
  if (t === 1) return;
  for (let i = 0; i < scores.length; i++) scores[i] /= t;
}

/** TopKLogitsWarper: scores below the k-th largest become −∞ (ties with it are kept). */
export function applyTopK(scores: Float32Array, k: number): void {
  if (k <= 0 || k >= scores.length) return;
  const kth = Float32Array.from(scores).sort((a, b) => b - a)[k - 1];
  for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
}

/**
 * TopPLogitsWarper: sort ascending, drop the tokens whose cumulative probability is ≤ 1 − p, keep at least the
 * most likely one.
 */
export function applyTopP(scores: Float32Array, p: number): void {
  if (p >= 1) return;
  const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b]);
  const probs = softmax(scores);
  let cum = 0;
  for (let j = 0; j < order.length - 1; j++) {
    cum += probs[order[j]];
    if (cum <= 1 - p) scores[order[j]] = -Infinity;
  }
}

export function softmax(scores: Float32Array): Float64Array {
  let m = -Infinity;
  for (const s of scores) m = Math.max(m, s);
  const out = new Float64Array(scores.length);
  let z = 0;
  for (let i = 0; i < scores.length; i++) z += out[i] = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - m);
  for (let i = 0; i < out.length; i++) out[i] /= z;
  return out;
}

/** First index of the largest score (torch.argmax). */
export function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** torch.multinomial(softmax(scores), 1) with our seeded generator. */
export function sample(scores: Float32Array, rng: Rng): number {
  const p = softmax(scores);
  let u = rng.uniform();
  for (let i = 0; i < p.length; i++) {
    u -= p[i];
    if (u < 0 && p[i] > 0) return i;
  }
  for (let i = p.length - 1; i >= 0; i--) if (p[i] > 0) return i;
  return 0;
}
