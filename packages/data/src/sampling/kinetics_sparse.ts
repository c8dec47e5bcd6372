import type { Rng } from '@iv2/core';
import { roundHalfEven } from './numpy_compat.js';
import { FrameSamplingError } from './video_utils.js';

/**
 * Fine-tuning sampler (`single_modality/datasets/kinetics_sparse.py`). Segments of size (n−1)/K.
 * Train (`clipIndex` −1): a uniform pick in [round(seg·k), round(seg·(k+1))], capped at n−1.
 * Test: clip c of C (`testNumSegment`) takes round(seg·k) + ⌊seg/(C+1)·(c+1)⌋.
 */
export function kineticsSparseIndices(opts: {
  numFrames: number;
  numVideoFrames: number;
  clipIndex?: number;
  testNumSegment?: number;
  rng?: Rng;
}): number[] {
  const { numFrames: K, numVideoFrames: n } = opts;
  if (n < 1 || K < 1) throw new FrameSamplingError(`cannot sample ${K} frames from ${n}`);
  const seg = (n - 1) / K;
  const maxFrame = n - 1;
  const clip = opts.clipIndex ?? -1;
  const out: number[] = [];
  if (clip === -1) {
    if (!opts.rng) throw new FrameSamplingError('training sampling needs an rng');
    for (let k = 0; k < K; k++) {
      const a = roundHalfEven(seg * k);
      const b = roundHalfEven(seg * (k + 1));
      out.push(Math.min(opts.rng.int(a, b + 1), maxFrame));
    }
  } else {
    const C = opts.testNumSegment ?? 1;
    const dur = seg / (C + 1);
    for (let k = 0; k < K; k++) out.push(Math.min(roundHalfEven(seg * k) + Math.floor(dur * (clip + 1)), maxFrame));
  }
  return out;
}
