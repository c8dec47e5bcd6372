import type { Rng } from '@iv2/core';
import { FrameSamplingError } from './video_utils.js';

export interface TsnOptions {
  /** K segments (16 for stage 1, 8 for distillation). */
  numSegments: number;
  /** Frames in the whole video. */
  numVideoFrames: number;
  /** Optional trim, in frames, inclusive start / exclusive end (from the list file's start/end times × fps). */
  startFrame?: number;
  endFrame?: number;
  /** Training draws a random offset per segment; evaluation takes the segment middle. */
  train?: boolean;
  rng?: Rng;
}

/**
 * Stage-1 TSN sparse sampling (`single_modality/datasets/mae_multi.py`): K equal segments of ⌊n/K⌋ frames,
 * frame k = k·avg + U{0..avg−1}. Unlike the official code we do not subtract 1 afterwards (its off-by-one turns
 * offset 0 into index −1, the last frame), and when n < K we spread the K indices over the n frames instead of
 * repeating the last frame K times.
 */
export function tsnSparseIndices(opts: TsnOptions): number[] {
  const K = opts.numSegments;
  const start = Math.max(0, opts.startFrame ?? 0);
  const end = Math.min(opts.numVideoFrames, opts.endFrame ?? opts.numVideoFrames);
  const n = end - start;
  if (!Number.isInteger(K) || K < 1) throw new FrameSamplingError(`numSegments must be a positive integer, got ${K}`);
  if (n < 1) throw new FrameSamplingError(`no frame in [${start}, ${end})`);
  const train = opts.train ?? true;
  if (train && !opts.rng) throw new FrameSamplingError('training TSN sampling needs an rng');
  const out: number[] = [];
  if (n < K) {
    for (let k = 0; k < K; k++) out.push(start + Math.floor((k * n) / K));
    return out;
  }
  const avg = Math.floor(n / K);
  for (let k = 0; k < K; k++) {
    const off = train ? opts.rng!.int(0, avg) : Math.floor(avg / 2);
    out.push(start + k * avg + off);
  }
  return out;
}
