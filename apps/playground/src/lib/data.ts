import { Rng } from '@iv2/core';
import type { Frames } from '@iv2/core';
import { type DemoDataOptions } from './demo_config.js';
import { type SyntheticClip, syntheticAnnotations, syntheticClips } from './synthetic.js';

/** One split of the synthetic dataset, frames kept as rendered (rgb24 `[T, H, W, 3]` per clip). */
export interface ClipSplit {
  names: string[];
  labels: number[];
  clips: SyntheticClip[];
  /** Caption + paraphrase of every clip (the retrieval annotations). */
  captions: string[][];
}

export interface DemoData {
  classes: string[];
  train: ClipSplit;
  test: ClipSplit;
  size: number;
  numFrames: number;
  fps: number;
}

/** The synthetic dataset rendered in memory by the generator of @iv2/data (same seed → same frames as the CLI's files). */
export function demoData(o: DemoDataOptions): DemoData {
  const s = syntheticClips({
    clipsPerClass: o.clipsPerClass, heldOutPerClass: 1, width: o.size, height: o.size, numFrames: o.numFrames, seed: o.seed,
    ...(o.colors ? { colors: o.colors } : {}), ...(o.shapes ? { shapes: o.shapes } : {}), ...(o.motions ? { motions: o.motions } : {}),
  });
  const split = (name: 'train' | 'test'): ClipSplit => {
    const clips = s.clips.filter((c) => c.split === name);
    const a = syntheticAnnotations(clips);
    return { names: clips.map((c) => c.name), labels: clips.map((c) => c.label), clips, captions: a.retrieval.map((r) => r.caption) };
  };
  return { classes: s.classes, train: split('train'), test: split('test'), size: o.size, numFrames: o.numFrames, fps: s.fps };
}

/** A clip's frames as a FrameSource read would give them. */
export function clipFrames(c: SyntheticClip, size: number, numFrames: number): Frames {
  return { data: c.frames, count: numFrames, width: size, height: size };
}

/** The clips of the micro-batch at `index`: each epoch is a seeded permutation, so a position always gives the same clips. */
export function batchIndices(n: number, batchSize: number, index: number, seed: number): number[] {
  const perEpoch = Math.max(1, Math.floor(n / batchSize));
  const epoch = Math.floor(index / perEpoch);
  const order = new Rng(seed * 100_003 + epoch).shuffle([...Array(n).keys()]);
  const k = index % perEpoch;
  return order.slice(k * batchSize, (k + 1) * batchSize);
}

/** The caption of a batch position (caption_sample_type 'uniform', reproducibly). */
export function batchCaption(captions: string[], index: number, k: number): string {
  return captions[(index * 31 + k) % captions.length];
}

/**
 * A long sample video: `count` clips of the synthetic generator (seeded choice of classes), `framesPerClip` frames
 * each, one after another. Returns the frames (rgb24 `[N, H, W, 3]`) and what is on screen when, so that a search
 * can be checked against the truth.
 */
export function sampleLongVideo(o: { seed: number; size: number; framesPerClip: number; count: number }): {
  frames: Frames;
  fps: number;
  segments: Array<{ start: number; end: number; caption: string; label: number }>;
} {
  const s = syntheticClips({ clipsPerClass: 2, heldOutPerClass: 1, width: o.size, height: o.size, numFrames: o.framesPerClip, seed: o.seed });
  const pool = s.clips.filter((c) => c.split === 'test');
  const clips = new Rng(o.seed).shuffle([...pool]).slice(0, o.count);
  const frameBytes = o.size * o.size * 3;
  const per = o.framesPerClip;
  const data = new Uint8Array(clips.length * per * frameBytes);
  const segments = clips.map((c, i) => {
    data.set(c.frames.subarray(0, per * frameBytes), i * per * frameBytes);
    return { start: (i * per) / s.fps, end: ((i + 1) * per) / s.fps, caption: s.classes[c.label], label: c.label };
  });
  return { frames: { data, count: clips.length * per, width: o.size, height: o.size }, fps: s.fps, segments };
}
