import type { Rng } from '@iv2/core';
import { arange, linspace, roundHalfEven, truncInt } from './numpy_compat.js';

/** `sample` values of the official `get_frame_indices` (`multi_modality/dataset/video_utils.py`). */
export type SampleType = 'rand' | 'middle' | `fps${string}`;

export interface FrameIndicesOptions {
  /** Frames wanted (K). Ignored by the `fps<x>` mode. */
  numFrames: number;
  /** Frames in the (trimmed) video (`vlen`). */
  numVideoFrames: number;
  sample: SampleType;
  /** Frame offset inside each interval instead of the middle / a random pick (`fix_start`). */
  fixStart?: number;
  /** Average frame rate of the video, used by `fps<x>` only (official default 1). */
  inputFps?: number;
  /** Cap for `fps<x>` (official `max_num_frames`, −1 = none). */
  maxNumFrames?: number;
  /** Needed for `rand`. */
  rng?: Rng;
}

export class FrameSamplingError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FrameSamplingError';
  }
}

/**
 * The official stage-2 / evaluation sampler. `rand`: one uniform pick per interval `[e_k, e_{k+1}−1)` (the last
 * frame of an interval is never chosen, as in the official `range(x[0], x[1])`); if an interval is empty, K sorted
 * distinct random frames instead. `middle`: `(e_k + e_{k+1} − 1) // 2`. Fewer frames than K are padded with the
 * last index. `fps<x>`: frames at `(i + ½)/x` seconds, rounded half-to-even like `np.around`.
 */
export function frameIndices(opts: FrameIndicesOptions): number[] {
  const { numFrames, numVideoFrames: vlen, sample } = opts;
  if (!Number.isInteger(vlen) || vlen < 0) throw new FrameSamplingError(`numVideoFrames must be a non-negative integer, got ${vlen}`);
  if (sample === 'rand' || sample === 'middle') {
    if (!Number.isInteger(numFrames) || numFrames < 1) throw new FrameSamplingError(`numFrames must be a positive integer, got ${numFrames}`);
    if (vlen < 1) throw new FrameSamplingError('the video has no frame to sample');
    const acc = Math.min(numFrames, vlen);
    const edges = linspace(0, vlen, acc + 1).map(truncInt);
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < acc; i++) ranges.push([edges[i], edges[i + 1] - 1]);
    let idx: number[];
    if (sample === 'rand') {
      const rng = opts.rng;
      if (!rng) throw new FrameSamplingError("sample 'rand' needs an rng");
      if (ranges.every(([a, b]) => b > a)) {
        idx = ranges.map(([a, b]) => rng.int(a, b));
      } else {
        const perm = rng.shuffle(Array.from({ length: vlen }, (_, i) => i));
        idx = perm.slice(0, acc).sort((a, b) => a - b);
      }
    } else if (opts.fixStart !== undefined) {
      idx = ranges.map(([a]) => a + opts.fixStart!);
    } else {
      idx = ranges.map(([a, b]) => Math.floor((a + b) / 2));
    }
    while (idx.length < numFrames) idx.push(idx[idx.length - 1]);
    return idx;
  }
  if (typeof sample === 'string' && sample.startsWith('fps')) {
    const outFps = Number(sample.slice(3));
    if (!Number.isFinite(outFps) || outFps <= 0) throw new FrameSamplingError(`bad sample type '${sample}'`);
    const inputFps = opts.inputFps ?? 1;
    const duration = vlen / inputFps;
    const delta = 1 / outFps;
    const seconds = arange(delta / 2, duration + delta / 2, delta);
    let idx = seconds.map((s) => truncInt(roundHalfEven(s * inputFps))).filter((e) => e < vlen);
    const max = opts.maxNumFrames ?? -1;
    if (max > 0 && idx.length > max) idx = idx.slice(0, max);
    return idx;
  }
  throw new FrameSamplingError(`unknown sample type '${String(sample)}'`);
}

/**
 * Frame indices of the official long-video clip reader (`read_clip_from_video`): inside `[startFrame, endFrame]`,
 * seg = (len − 1)/K, start = ⌊seg/2⌋, offsets start + round(seg·k).
 */
export function clipFrameIndices(numFrames: number, startFrame: number, endFrame: number): number[] {
  const len = endFrame - startFrame + 1;
  if (len < 1 || numFrames < 1) throw new FrameSamplingError(`empty clip [${startFrame}, ${endFrame}]`);
  const seg = (len - 1) / numFrames;
  const start = Math.floor(seg / 2);
  const out: number[] = [];
  for (let k = 0; k < numFrames; k++) out.push(startFrame + Math.min(len - 1, start + roundHalfEven(seg * k)));
  return out;
}

/** The official demo: stride ⌊n/K⌋, first K frames. */
export function demoFrameIndices(numFrames: number, numVideoFrames: number): number[] {
  const step = Math.max(1, Math.floor(numVideoFrames / numFrames));
  const out: number[] = [];
  for (let i = 0; i < numVideoFrames && out.length < numFrames; i += step) out.push(i);
  while (out.length < numFrames && out.length > 0) out.push(out[out.length - 1]);
  return out;
}
