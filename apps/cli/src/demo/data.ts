import { Rng } from '@iv2/core';
import { describeClip, SYNTHETIC_QUESTIONS, type SyntheticClip, syntheticAnnotations, syntheticClips } from '@iv2/data';
import { IMAGENET_MEAN, IMAGENET_STD } from '@iv2/encoder';

/** A split of clips held in memory as normalised float frames `[N, T, 3, H, W]`. */
export interface ClipSet {
  names: string[];
  labels: number[];
  clips: SyntheticClip[];
  /** ImageNet-normalised, `[N, T, 3, H, W]` row-major. */
  frames: Float32Array;
  /** One caption list per clip (the retrieval annotations: caption + paraphrase). */
  captions: string[][];
  /** Stage-3 QA records (official instruction format). */
  qa: Array<{ video: string; QA: Array<{ i: string; q: string; a: string }> }>;
}

export interface DemoData {
  classes: string[];
  train: ClipSet;
  test: ClipSet;
  size: number;
  numFrames: number;
  clipElems: number;
}

/**
 * The synthetic dataset rendered in memory (every class, train and held-out splits), normalised once: training
 * reads the frames the video files would hold, without encoding or decoding anything.
 */
export function demoData(o: { seed: number; clipsPerClass: number; size: number; numFrames: number }): DemoData {
  const s = syntheticClips({ clipsPerClass: o.clipsPerClass, heldOutPerClass: 1, width: o.size, height: o.size, numFrames: o.numFrames, seed: o.seed });
  const T = o.numFrames, H = o.size, W = o.size;
  const clipElems = T * 3 * H * W;
  const split = (name: 'train' | 'test'): ClipSet => {
    const clips = s.clips.filter((c) => c.split === name);
    const frames = new Float32Array(clips.length * clipElems);
    clips.forEach((c, n) => {
      for (let t = 0; t < T; t++) {
        for (let ch = 0; ch < 3; ch++) {
          const base = n * clipElems + (t * 3 + ch) * H * W;
          for (let i = 0; i < H * W; i++) frames[base + i] = (c.frames[(t * H * W + i) * 3 + ch] / 255 - IMAGENET_MEAN[ch]) / IMAGENET_STD[ch];
        }
      }
    });
    const a = syntheticAnnotations(clips);
    return { names: clips.map((c) => c.name), labels: clips.map((c) => c.label), clips, frames, captions: a.retrieval.map((r) => r.caption), qa: a.qa };
  };
  return { classes: s.classes, train: split('train'), test: split('test'), size: o.size, numFrames: T, clipElems };
}

/** The clips of the micro-batch at `index`: epochs are seeded permutations, so a position always gives the same clips. */
export function batchIndices(n: number, batchSize: number, index: number, seed: number): number[] {
  const perEpoch = Math.floor(n / batchSize);
  const epoch = Math.floor(index / perEpoch);
  const order = new Rng(seed * 100_003 + epoch).shuffle([...Array(n).keys()]);
  const k = index % perEpoch;
  return order.slice(k * batchSize, (k + 1) * batchSize);
}

/** Frames of the given clips, `[B, T, 3, H, W]` as a flat array. */
export function gatherFrames(set: ClipSet, ids: number[], clipElems: number): Float32Array {
  const out = new Float32Array(ids.length * clipElems);
  ids.forEach((id, i) => out.set(set.frames.subarray(id * clipElems, (id + 1) * clipElems), i * clipElems));
  return out;
}

export { describeClip, SYNTHETIC_QUESTIONS };
