import { writeFile } from 'node:fs/promises';
import { defineCommand } from 'citty';
import { type BackendName, initBackend, saveSafetensors } from '@iv2/core';
import { VideoEncoder, type WindowFeatures } from '@iv2/encoder';
import { openVideo } from '@iv2/data';
import { Progress } from '../progress.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Builds the encoder a command asks for: official weights by preset, or a random one for trying things out. */
export async function encoderFromArgs(args: { weights?: string; preset?: string; config?: string; random?: boolean; seed?: string }) {
  const config = args.config ? JSON.parse(args.config) : undefined;
  if (args.weights) return VideoEncoder.fromPretrained(args.weights, { preset: args.preset, config });
  if (!args.random) throw new UsageError('pass --weights <checkpoint.safetensors> (with --preset), or --random for an untrained model');
  return VideoEncoder.create({ preset: args.preset, config, seed: Number(args.seed ?? 0) });
}

/** How many windows extractFeatures makes for this duration (for the progress total). */
function countWindows(duration: number, win = duration, stride = win): number {
  let n = 0;
  for (let s = 0; s < duration - 1e-9; s += stride) {
    n += 1;
    if (s + win >= duration) break;
  }
  return Math.max(1, n);
}

export const extract = defineCommand({
  meta: { name: 'extract', description: 'Features of a video, window by window (official middle sampling per window)' },
  args: {
    video: { type: 'positional', description: 'Video file', required: true },
    weights: { type: 'string', description: 'Checkpoint (.safetensors)' },
    preset: { type: 'string', description: 'Released checkpoint name, e.g. InternVideo2-Stage2_1B-224p-f4' },
    config: { type: 'string', description: 'JSON of official constructor arguments, merged over the preset' },
    random: { type: 'boolean', description: 'Use randomly initialised weights', default: false },
    seed: { type: 'string', description: 'Seed for --random', default: '0' },
    frames: { type: 'string', description: 'Frames per window (default: the model’s num_frames)' },
    window: { type: 'string', description: 'Window length in seconds (default: the whole video)' },
    stride: { type: 'string', description: 'Seconds between window starts (default: the window length)' },
    batch: { type: 'string', description: 'Windows per forward pass', default: '1' },
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'auto' },
    out: { type: 'string', description: 'Output: .jsonl (one window a line) or .safetensors (embeddings [W, D])' },
    quiet: { type: 'boolean', description: 'No progress output', default: false },
  },
  async run({ args }) {
    await initBackend(args.backend as BackendName);
    const enc = await encoderFromArgs(args);
    const src = await openVideo(args.video);
    const windows: WindowFeatures[] = [];
    const progress = new Progress({ quiet: args.quiet });
    progress.begin('extract', countWindows(src.info.numFrames / src.info.fps, args.window ? Number(args.window) : undefined, args.stride ? Number(args.stride) : undefined), { unit: 'windows' });
    try {
      for await (const w of enc.extractFeatures(src, {
        numFrames: args.frames ? Number(args.frames) : undefined,
        windowSeconds: args.window ? Number(args.window) : undefined,
        strideSeconds: args.stride ? Number(args.stride) : undefined,
        batchSize: Number(args.batch),
      })) {
        windows.push(w);
        progress.update(windows.length, `${w.start.toFixed(1)}–${w.end.toFixed(1)} s`);
        if (!args.out) console.log(JSON.stringify({ start: w.start, end: w.end, frames: w.frameIndices, embedding: Array.from(w.embedding) }));
      }
    } finally {
      progress.end();
      await src.close();
      enc.dispose();
    }
    if (!args.out) return;
    if (args.out.endsWith('.safetensors')) {
      const dim = windows[0]?.embedding.length ?? 0;
      const data = new Float32Array(windows.length * dim);
      windows.forEach((w, i) => data.set(w.embedding, i * dim));
      await saveSafetensors(
        args.out,
        [['embeddings', { dtype: 'F32', shape: [windows.length, dim] }]],
        () => ({ dtype: 'float32', shape: [windows.length, dim], data }),
        { video: args.video, windows: JSON.stringify(windows.map((w) => ({ start: w.start, end: w.end, frames: w.frameIndices }))) },
      );
    } else {
      const lines = windows.map((w) => JSON.stringify({ start: w.start, end: w.end, frames: w.frameIndices, embedding: Array.from(w.embedding) }));
      await writeFile(args.out, `${lines.join('\n')}\n`);
    }
    console.error(`${windows.length} window(s) → ${args.out}`);
  },
});
