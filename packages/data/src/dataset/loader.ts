import { Rng } from '@iv2/core';
import { MediaError } from '../errors.js';
import { stackClips } from '../transforms/clip.js';
import { ClipShapeError } from './errors.js';
import type { VideoSample, VideoTextDataset } from './video_dataset.js';

export interface Batch {
  /** `[B, 3, T, H, W]` float32. */
  video: Float32Array;
  shape: [number, number, number, number, number];
  captions: Array<string | undefined>;
  labels: Array<number | undefined>;
  /** Dataset indices of the samples in the batch. */
  indices: number[];
  epoch: number;
  /** Entries of the epoch's order consumed so far, this batch included: pass it as `resumeFrom` to continue. */
  next: number;
}

export interface SkippedSample {
  index: number;
  file: string;
  error: string;
  reason: string;
}

export interface EpochReport {
  epoch: number;
  batches: number;
  samples: number;
  skipped: SkippedSample[];
}

export interface LoaderOptions {
  batchSize: number;
  seed?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Batches decoded ahead of the consumer. Default 2. */
  prefetch?: number;
  /** ffmpeg processes at once. Default 2. */
  concurrency?: number;
  /**
   * `'skip'` (default): bad media are left out and reported per epoch; `'throw'`: the first bad medium ends the run.
   * A clip whose shape differs from the first clip of its batch (videos of different sizes with no `decodeSize`
   * and no resizing transform) counts as bad media ({@link ClipShapeError}): clips are never resized implicitly.
   */
  onError?: 'skip' | 'throw';
  signal?: AbortSignal;
  onEpochEnd?: (r: EpochReport) => void;
}

/** The order of an epoch: a pure function of (seed, epoch), so a run resumes exactly from a position. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (shuffle) new Rng((seed * 0x9e3779b1 + epoch * 0x85ebca6b + 1) >>> 0).shuffle(order);
  return order;
}

/**
 * An async batch pipeline: a bounded number of samples decode at once, at most `prefetch` batches wait for the
 * consumer (a slow consumer stalls decoding instead of growing memory), and an AbortSignal kills the running
 * ffmpeg processes. Each sample's randomness comes from `Rng(seed, epoch, index)`, so results do not depend on
 * the decode order. With `onError: 'skip'` a bad medium is replaced by nothing (the batch is filled from the next
 * samples) and listed in the epoch report; no sample is dropped silently.
 */
export class VideoLoader {
  private reports: EpochReport[] = [];
  constructor(
    readonly dataset: VideoTextDataset,
    readonly opts: LoaderOptions,
  ) {
    if (!(opts.batchSize >= 1)) throw new RangeError('batchSize must be ≥ 1');
  }

  /** Reports of the epochs finished so far. */
  get epochReports(): readonly EpochReport[] {
    return this.reports;
  }

  async *epoch(epoch: number, resumeFrom = 0): AsyncGenerator<Batch> {
    const o = this.opts;
    const seed = o.seed ?? 0;
    const order = epochOrder(this.dataset.length, seed, epoch, o.shuffle ?? true);
    const B = o.batchSize;
    const concurrency = Math.max(1, o.concurrency ?? 2);
    const prefetch = Math.max(1, o.prefetch ?? 2);
    const report: EpochReport = { epoch, batches: 0, samples: 0, skipped: [] };
    const signal = o.signal;

    // Resume points count consumed entries of the order, not batches: a skipped sample pulls later ones forward.
    let cursor = Math.min(order.length, Math.max(0, resumeFrom));
    type Result = { i: number; sample?: VideoSample; error?: unknown };
    const inflight = new Map<number, Promise<Result>>();
    let nextToStart = cursor;
    const maxAhead = prefetch * B + concurrency;
    const start = () => {
      while (inflight.size < concurrency && nextToStart < order.length && nextToStart - cursor < maxAhead) {
        const k = nextToStart++;
        const i = order[k];
        const rng = new Rng(((seed * 0x9e3779b1) ^ (epoch * 0x27d4eb2f) ^ (i * 0x165667b1)) >>> 0);
        inflight.set(
          k,
          this.dataset.get(i, rng, signal).then(
            (sample) => ({ i, sample }),
            (error) => ({ i, error }),
          ),
        );
      }
    };
    const done = new Map<number, Result>();
    const take = async (k: number): Promise<Result> => {
      while (!done.has(k)) {
        start();
        const p = inflight.get(k);
        if (!p) throw new Error(`loader: sample slot ${k} was never started`);
        const r = await p;
        inflight.delete(k);
        done.set(k, r);
      }
      const r = done.get(k)!;
      done.delete(k);
      return r;
    };

    let pending: VideoSample[] = [];
    try {
      while (cursor < order.length) {
        signal?.throwIfAborted();
        const r = await take(cursor);
        cursor++;
        start();
        const error = r.error !== undefined ? r.error : shapeMismatch(r.sample!, pending[0]);
        if (error !== undefined) {
          if (signal?.aborted) throw signal.reason;
          if (!(error instanceof MediaError) || (o.onError ?? 'skip') === 'throw') throw error;
          report.skipped.push({ index: r.i, file: error.file, error: error.name, reason: error.reason });
        } else {
          pending.push(r.sample!);
        }
        const full = pending.length === B;
        const last = cursor === order.length;
        if (full || (last && pending.length > 0 && !o.dropLast)) {
          const stacked = stackClips(pending.map((s) => s.clip));
          report.batches++;
          report.samples += pending.length;
          const batch: Batch = {
            video: stacked.data,
            shape: stacked.shape,
            captions: pending.map((s) => s.caption),
            labels: pending.map((s) => s.label),
            indices: pending.map((s) => s.index),
            epoch,
            next: cursor,
          };
          pending = [];
          yield batch;
        }
      }
    } finally {
      // an early `return` or abort leaves decodes running: wait for them so no ffmpeg outlives the loop
      await Promise.allSettled(inflight.values());
    }
    this.reports.push(report);
    o.onEpochEnd?.(report);
  }
}

/** A sample whose clip cannot be stacked with the batch's first one, as a typed error naming the file. */
function shapeMismatch(s: VideoSample, first: VideoSample | undefined): ClipShapeError | undefined {
  if (!first) return undefined;
  const a = s.clip;
  const b = first.clip;
  if (a.t === b.t && a.c === b.c && a.h === b.h && a.w === b.w) return undefined;
  return new ClipShapeError(
    s.media,
    `clip [T=${a.t}, C=${a.c}, H=${a.h}, W=${a.w}] differs from the batch's [T=${b.t}, C=${b.c}, H=${b.h}, W=${b.w}] (from ${first.media}); ` +
      'give the dataset a decodeSize or a transform that resizes to one size',
  );
}
