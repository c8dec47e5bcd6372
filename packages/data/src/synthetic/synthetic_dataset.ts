import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@iv2/core';
import { encodeFrames, type SyntheticCodec } from './encode.js';
import { COLORS, MOTIONS, SHAPES, describeClip, renderClip, type ClipSpec, type ColorName, type MotionName } from './render.js';

export interface SyntheticOptions {
  dir: string;
  /** Clips per class (train + held-out). Default 4. */
  clipsPerClass?: number;
  /** Of each class's clips, this many go to the held-out split. Default 1. */
  heldOutPerClass?: number;
  width?: number;
  height?: number;
  numFrames?: number;
  fps?: number;
  seed?: number;
  codec?: SyntheticCodec;
  /** Restrict the colour / shape / motion vocabularies (all by default: 4 × 3 × 4 = 48 classes). */
  colors?: ColorName[];
  shapes?: ClipSpec['shape'][];
  motions?: MotionName[];
  /** Encodes run in parallel (ffmpeg processes). Default 2. */
  concurrency?: number;
}

export interface SyntheticManifest {
  seed: number;
  width: number;
  height: number;
  numFrames: number;
  fps: number;
  codec: SyntheticCodec;
  classes: string[];
  /** Paths relative to `dir`. */
  files: {
    retrieval: { train: string; test: string };
    classification: { train: string; test: string };
    qa: { train: string; test: string };
  };
  videoRoot: string;
  counts: { train: number; test: number };
}

const QUESTIONS: Array<[string, (s: ClipSpec) => string]> = [
  ['What colour is the moving shape?', (s) => `It is ${s.color}.`],
  ['Which shape is in the video?', (s) => `A ${s.shape}.`],
  ['In which direction does the shape move?', (s) => `It moves ${s.motion}.`],
];

/** One clip of the synthetic dataset, rendered in memory. */
export interface SyntheticClip {
  /** File name under `videos/`. */
  name: string;
  split: 'train' | 'test';
  /** Index into `classes`. */
  label: number;
  spec: ClipSpec;
  /** Packed rgb24 frames `[numFrames, height, width, 3]`, exactly what the video file encodes. */
  frames: Uint8Array;
}

export interface SyntheticClips {
  classes: string[];
  clips: SyntheticClip[];
  width: number;
  height: number;
  numFrames: number;
  fps: number;
}

function resolveOptions<O extends Omit<SyntheticOptions, 'dir'>>(opts: O) {
  const o = {
    clipsPerClass: 4, heldOutPerClass: 1, width: 64, height: 64, numFrames: 16, fps: 8, seed: 0, codec: 'h264' as SyntheticCodec,
    colors: Object.keys(COLORS) as ColorName[], shapes: [...SHAPES], motions: Object.keys(MOTIONS) as MotionName[], concurrency: 2,
    ...opts,
  };
  if (o.heldOutPerClass >= o.clipsPerClass) throw new RangeError('heldOutPerClass must leave at least one training clip per class');
  if (o.width % 2 || o.height % 2) throw new RangeError('width and height must be even (yuv420p)');
  return o;
}

interface Job {
  spec: ClipSpec;
  label: number;
  name: string;
  split: 'train' | 'test';
  rng: Rng;
}

function planJobs(o: ReturnType<typeof resolveOptions>): { classes: string[]; jobs: Job[] } {
  const rng = new Rng(o.seed);
  const specs: ClipSpec[] = [];
  for (const color of o.colors) for (const shape of o.shapes) for (const motion of o.motions) specs.push({ color, shape, motion });
  const ext = o.codec === 'vp9' ? 'webm' : 'mp4';
  const jobs: Job[] = [];
  specs.forEach((spec, c) => {
    for (let k = 0; k < o.clipsPerClass; k++) {
      jobs.push({
        spec,
        label: c,
        name: `${String(c).padStart(3, '0')}_${spec.color}_${spec.shape}_${spec.motion}_${k}.${ext}`,
        split: k >= o.clipsPerClass - o.heldOutPerClass ? 'test' : 'train',
        rng: rng.fork(),
      });
    }
  });
  return { classes: specs.map(describeClip), jobs };
}

/**
 * The synthetic dataset in memory: every clip rendered (the same frames, names and splits that
 * {@link writeSyntheticDataset} encodes for the same options), without touching the disk.
 */
export function syntheticClips(opts: Omit<SyntheticOptions, 'dir' | 'codec' | 'concurrency'> & { codec?: SyntheticCodec } = {}): SyntheticClips {
  const o = resolveOptions(opts);
  const { classes, jobs } = planJobs(o);
  const clips = jobs.map((j) => ({ name: j.name, split: j.split, label: j.label, spec: j.spec, frames: renderClip(j.spec, o.width, o.height, o.numFrames, j.rng) }));
  return { classes, clips, width: o.width, height: o.height, numFrames: o.numFrames, fps: o.fps };
}

/** The annotation records of a split in the official formats (retrieval, classification, stage-3 QA). */
export function syntheticAnnotations(clips: Array<Pick<SyntheticClip, 'name' | 'spec'>>): {
  retrieval: Array<{ video: string; caption: string[] }>;
  classification: Array<{ video: string; caption: string }>;
  qa: Array<{ video: string; QA: Array<{ i: string; q: string; a: string }> }>;
} {
  return {
    retrieval: clips.map((j) => ({ video: j.name, caption: [describeClip(j.spec), paraphrase(j.spec)] })),
    classification: clips.map((j) => ({ video: j.name, caption: describeClip(j.spec) })),
    qa: clips.map((j) => ({
      video: j.name,
      QA: [
        { i: 'Describe the video in one sentence.', q: '', a: `${capitalise(describeClip(j.spec))}.` },
        ...QUESTIONS.map(([q, a]) => ({ i: 'Answer the question about the video.', q, a: a(j.spec) })),
      ],
    })),
  };
}

/** The questions of the QA annotations and their answer for a clip. */
export const SYNTHETIC_QUESTIONS: ReadonlyArray<readonly [string, (s: ClipSpec) => string]> = QUESTIONS;

/**
 * Writes the synthetic video–text dataset: moving coloured shapes rendered in JS and encoded with ffmpeg, one
 * class per colour × shape × motion, balanced, with a held-out split, and annotations in the official retrieval,
 * classification and stage-3 QA formats. Everything is a function of the options (same seed → same files).
 */
export async function writeSyntheticDataset(opts: SyntheticOptions): Promise<SyntheticManifest> {
  const o = resolveOptions(opts);
  const { classes, jobs } = planJobs(o);
  await mkdir(join(o.dir, 'videos'), { recursive: true });
  await mkdir(join(o.dir, 'annotations'), { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const frames = renderClip(j.spec, o.width, o.height, o.numFrames, j.rng);
      await encodeFrames(frames, o.width, o.height, o.fps, join(o.dir, 'videos', j.name), o.codec);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const files = await writeSyntheticAnnotations(o.dir, jobs);
  const manifest: SyntheticManifest = {
    seed: o.seed, width: o.width, height: o.height, numFrames: o.numFrames, fps: o.fps, codec: o.codec, classes, files,
    videoRoot: 'videos',
    counts: { train: jobs.filter((j) => j.split === 'train').length, test: jobs.filter((j) => j.split === 'test').length },
  };
  await writeFile(join(o.dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return manifest;
}

/** Writes the annotation files of both splits under `dir/annotations/` and returns their paths (relative to `dir`). */
export async function writeSyntheticAnnotations(dir: string, clips: Array<Pick<SyntheticClip, 'name' | 'spec' | 'split'>>): Promise<SyntheticManifest['files']> {
  const files: SyntheticManifest['files'] = {
    retrieval: { train: 'annotations/ret_train.json', test: 'annotations/ret_test.json' },
    classification: { train: 'annotations/cls_train.json', test: 'annotations/cls_test.json' },
    qa: { train: 'annotations/qa_train.json', test: 'annotations/qa_test.json' },
  };
  await mkdir(join(dir, 'annotations'), { recursive: true });
  for (const split of ['train', 'test'] as const) {
    const a = syntheticAnnotations(clips.filter((j) => j.split === split));
    await writeFile(join(dir, files.retrieval[split]), JSON.stringify(a.retrieval, null, 1));
    await writeFile(join(dir, files.classification[split]), JSON.stringify(a.classification, null, 1));
    await writeFile(join(dir, files.qa[split]), JSON.stringify(a.qa, null, 1));
  }
  return files;
}

function paraphrase(s: ClipSpec): string {
  const dir = { left: 'to the left', right: 'to the right', up: 'upwards', down: 'downwards' }[s.motion];
  return `the ${s.shape} that is ${s.color} travels ${dir} across the frame`;
}

function capitalise(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
