// Decode benchmark (not a test): clips/s of 8 frames at 224² from the repository's fixtures/media, beside ffmpeg's own decode
// rate of the same files measured in the same run, and memory per clip in flight. Run: pnpm --filter @iv2/data bench
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@iv2/core';
import { VideoLoader, VideoTextDataset, clipFromFrames, evalTransform, ffmpegPath, frameIndices, openVideo } from '../dist/index.js';

const media = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../fixtures/media');
const files = ['example1.mp4', 'part_0.mp4'].map((f) => join(media, f));
const reps = Number(process.env.BENCH_REPS ?? 20);
const ffmpeg = ffmpegPath();

function ffmpegRate(file, vf) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const args = ['-v', 'error', '-i', file, ...(vf ? ['-vf', vf, '-pix_fmt', 'rgb24'] : []), '-f', 'null', '-'];
    const r = spawnSync(ffmpeg, args);
    if (r.status !== 0) throw new Error(r.stderr.toString());
  }
  return reps / ((performance.now() - t0) / 1000);
}

async function ourRate(file, withTransform, cacheProbe) {
  const tf = evalTransform({ size: 224 });
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const v = await openVideo(file, { cacheProbe });
    const idx = frameIndices({ numFrames: 8, numVideoFrames: v.info.numFrames, sample: 'middle' });
    const f = await v.readFrames(idx, { width: 224, height: 224 });
    if (withTransform) tf(clipFromFrames(f), new Rng(i));
  }
  return reps / ((performance.now() - t0) / 1000);
}

const rows = [];
for (const file of files) {
  const name = file.split('/').pop();
  const v = await openVideo(file);
  const whole = ffmpegRate(file, null);
  const wholeScaled = ffmpegRate(file, 'scale=224:224:flags=bilinear');
  const cold = await ourRate(file, false, false);
  const ours = await ourRate(file, false, true);
  const oursT = await ourRate(file, true, true);
  rows.push({ name, frames: v.info.numFrames, size: `${v.info.width}x${v.info.height}`, whole, wholeScaled, cold, ours, oursT });
}

// Loader throughput and memory per clip in flight (2 ffmpeg processes, prefetch 2 batches of 4).
const records = Array.from({ length: 32 }, (_, i) => ({ media: files[i % 2], caption: 'a clip' }));
const ds = new VideoTextDataset(records, { numFrames: 8, sample: 'middle', decodeSize: { width: 224, height: 224 }, transform: evalTransform({ size: 224 }) });
global.gc?.();
const rss0 = process.memoryUsage().rss;
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
const t0 = performance.now();
let clips = 0;
for await (const b of new VideoLoader(ds, { batchSize: 4, concurrency: 2, prefetch: 2 }).epoch(0)) clips += b.shape[0];
const loaderRate = clips / ((performance.now() - t0) / 1000);
clearInterval(timer);
const inflight = 2 + 2 * 4 + 4; // decoding + prefetched + the batch being stacked
const perClipMiB = (peak - rss0) / inflight / 2 ** 20;
const clipBytes = (8 * 224 * 224 * 3 + 8 * 3 * 224 * 224 * 4) / 2 ** 20;

const f1 = (x) => x.toFixed(1);
console.log(`ffmpeg: ${ffmpeg}; ${reps} reps per row; clip = 8 frames, middle sampling, 224x224\n`);
console.log('| file | frames | size | ffmpeg decode, whole file (files/s) | ffmpeg decode + scale 224² + rgb24 (files/s) | iv2 clips/s, first open (probe + read) | iv2 clips/s, probe cached | iv2 clips/s, cached + eval transform | ratio iv2 (cached) / ffmpeg decode |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.frames} | ${r.size} | ${f1(r.whole)} | ${f1(r.wholeScaled)} | ${f1(r.cold)} | ${f1(r.ours)} | ${f1(r.oursT)} | ${(r.ours / r.whole).toFixed(2)} |`);
}
console.log(`\nloader (2 ffmpeg processes, prefetch 2×4): ${f1(loaderRate)} clips/s with transform; peak RSS growth ${f1((peak - rss0) / 2 ** 20)} MiB ≈ ${f1(perClipMiB)} MiB per clip in flight (payload ${f1(clipBytes)} MiB: uint8 frames + float32 clip)`);
