import * as tf from '@tensorflow/tfjs-core';
import type { FrameSource } from '@iv2/core';
import { preprocessFrames } from './preprocess.js';
import type { VideoEncoder } from './video_encoder.js';

export interface ExtractFeaturesOptions {
  /** Frames per window (the model's `num_frames`). */
  numFrames?: number;
  /** Window length in seconds; omitted = the whole video as one window. */
  windowSeconds?: number;
  /** Step between window starts; defaults to `windowSeconds`. */
  strideSeconds?: number;
  /** Windows per forward pass. */
  batchSize?: number;
  /** Input side; defaults to the model's `img_size`. */
  size?: number;
  signal?: AbortSignal;
}

export interface WindowFeatures {
  /** Seconds. */
  start: number;
  end: number;
  frameIndices: number[];
  embedding: Float32Array;
}

/** `@iv2/data` is needed to open a video file and is not installed. */
export class MissingDecoderError extends Error {
  constructor(readonly path: string) {
    super(`${path}: decoding video files needs @iv2/data (npm install @iv2/data), or pass a FrameSource`);
    this.name = 'MissingDecoderError';
  }
}

/** The official 'middle' sampling inside [first, last]: the middle frame of each of n equal segments. */
function middleIndices(first: number, count: number, n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = Math.floor((k * count) / n);
    const b = Math.floor(((k + 1) * count) / n);
    out.push(first + Math.floor((a + b - 1) / 2));
  }
  return out.map((i) => Math.max(first, Math.min(first + count - 1, i)));
}

async function openSource(source: string | FrameSource): Promise<{ src: FrameSource; owned: boolean }> {
  if (typeof source !== 'string') return { src: source, owned: false };
  let data: { openVideo(p: string): Promise<FrameSource> };
  try {
    data = (await import(/* @vite-ignore */ '@iv2/data' as string)) as typeof data;
  } catch {
    throw new MissingDecoderError(source);
  }
  return { src: await data.openVideo(source), owned: true };
}

/**
 * Features of a whole video, window by window: each window's frames are sampled as the official 'middle'
 * sampler does, resized to the model's input and embedded; windows are batched.
 */
export async function* extractFeatures(
  encoder: VideoEncoder,
  source: string | FrameSource,
  opts: ExtractFeaturesOptions = {},
): AsyncGenerator<WindowFeatures> {
  const numFrames = opts.numFrames ?? encoder.config.num_frames;
  const size = opts.size ?? encoder.config.img_size;
  const batchSize = Math.max(1, opts.batchSize ?? 1);
  const { src, owned } = await openSource(source);
  try {
    const { numFrames: total, fps } = src.info;
    const duration = total / fps;
    const win = opts.windowSeconds ?? duration;
    const stride = opts.strideSeconds ?? win;
    const windows: Array<{ start: number; end: number; idx: number[] }> = [];
    for (let s = 0; s < duration - 1e-9; s += stride) {
      const e = Math.min(duration, s + win);
      const first = Math.min(total - 1, Math.floor(s * fps));
      const last = Math.max(first + 1, Math.min(total, Math.round(e * fps)));
      windows.push({ start: s, end: e, idx: middleIndices(first, last - first, numFrames) });
      if (e >= duration) break;
    }
    for (let i = 0; i < windows.length; i += batchSize) {
      opts.signal?.throwIfAborted();
      const batch = windows.slice(i, i + batchSize);
      const clips: tf.Tensor5D[] = [];
      for (const w of batch) clips.push(preprocessFrames(await src.readFrames(w.idx, { width: size, height: size }), { size }));
      const video = tf.concat(clips, 0) as tf.Tensor5D;
      tf.dispose(clips);
      const emb = encoder.embed(video);
      const data = (await emb.data()) as Float32Array;
      const dim = emb.shape[1];
      tf.dispose([video, emb]);
      for (let j = 0; j < batch.length; j++) {
        yield { start: batch[j].start, end: batch[j].end, frameIndices: batch[j].idx, embedding: data.slice(j * dim, (j + 1) * dim) };
      }
    }
  } finally {
    if (owned) await src.close();
  }
}
