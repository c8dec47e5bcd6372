import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { FrameIndexError, frameIndices, openVideo } from '../src/index.js';
import { MEDIA, ffmpeg, ffmpegReference, tempDir } from './fixtures.js';

const example1 = join(MEDIA, 'example1.mp4');
const part0 = join(MEDIA, 'part_0.mp4');

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ffmpeg frame source: probe', () => {
  test('example1.mp4: 640x480, 40 frames at 5 fps, MPEG-4 Part 2', async () => {
    const v = await openVideo(example1);
    expect(v.info).toMatchObject({ width: 640, height: 480, numFrames: 40 });
    expect(v.info.fps).toBeCloseTo(5, 6);
    expect(v.info.duration).toBeCloseTo(8, 6);
    expect(v.probe.codec).toBe('mpeg4');
  });
  test('part_0.mp4: SAR 1024:765 gives a 455x256 display size; coded geometry keeps 340x256', async () => {
    const v = await openVideo(part0);
    expect(v.probe.sar).toBeCloseTo(1024 / 765, 9);
    expect(v.info).toMatchObject({ width: 455, height: 256, numFrames: 32 });
    expect(v.info.fps).toBeCloseTo(30, 6);
    const c = await openVideo(part0, { geometry: 'coded' });
    expect(c.info).toMatchObject({ width: 340, height: 256 });
  });
});

describe('decoded frames equal a plain ffmpeg decode of the same indices', () => {
  test('example1.mp4, official middle sampling of 8 frames, native size: bit-exact', async () => {
    const v = await openVideo(example1);
    const idx = frameIndices({ numFrames: 8, numVideoFrames: v.info.numFrames, sample: 'middle' });
    const f = await v.readFrames(idx);
    expect(f).toMatchObject({ count: 8, width: 640, height: 480 });
    expect(maxAbsDiff(f.data, ffmpegReference(example1, idx))).toBe(0);
  });
  test('part_0.mp4 (H.264 with B-frames, SAR), unsorted and repeated indices, display size', async () => {
    const v = await openVideo(part0);
    const idx = [31, 0, 17, 17, 5];
    const f = await v.readFrames(idx);
    const ref = ffmpegReference(part0, [0, 5, 17, 31], { width: 455, height: 256 });
    const fb = 455 * 256 * 3;
    const pick = (k: number) => ref.subarray(k * fb, (k + 1) * fb);
    const expected = Buffer.concat([pick(3), pick(0), pick(2), pick(2), pick(1)]);
    expect(maxAbsDiff(f.data, expected)).toBe(0);
  });
  test('resized read (224x224) equals ffmpeg with the same scale', async () => {
    const v = await openVideo(part0, { geometry: 'coded' });
    const idx = frameIndices({ numFrames: 4, numVideoFrames: 32, sample: 'middle' });
    const f = await v.readFrames(idx, { width: 224, height: 224 });
    expect(maxAbsDiff(f.data, ffmpegReference(part0, idx, { width: 224, height: 224 }))).toBe(0);
  });
  test('out-of-range indices give FrameIndexError', async () => {
    const v = await openVideo(example1);
    await expect(v.readFrames([40])).rejects.toBeInstanceOf(FrameIndexError);
    await expect(v.readFrames([-1])).rejects.toBeInstanceOf(FrameIndexError);
  });
});

describe('long, trimmed, variable-frame-rate and rotated videos', () => {
  let dir: string;
  let long: string;
  let vfr: string;
  let rotated: string;
  beforeAll(() => {
    dir = tempDir('decode');
    long = join(dir, 'long.mp4');
    // 60 s at 25 fps, key frame every 50 frames: the late frames need a seek to stay cheap
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=25:duration=60', '-c:v', 'libx264', '-g', '50', '-pix_fmt', 'yuv420p', long]);
    vfr = join(dir, 'vfr.mkv');
    // frame intervals alternate between 1/30 and 1/10 s
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=30:duration=4',
      '-vf', "setpts='(N+2*floor(N/2))/30/TB'", '-vsync', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', vfr,
    ]);
    rotated = join(dir, 'rotated.mp4');
    copyFileSync(part0, join(dir, 'src.mp4'));
    ffmpeg(['-i', join(dir, 'src.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
  });

  test('frames far into a long video are read after a seek and still match', async () => {
    const v = await openVideo(long);
    expect(v.info.numFrames).toBe(1500);
    const idx = [1400, 1449, 1450, 1499];
    const t0 = performance.now();
    const f = await v.readFrames(idx);
    const ms = performance.now() - t0;
    expect(maxAbsDiff(f.data, ffmpegReference(long, idx))).toBe(0);
    expect(v.stats.seeks).toBe(1);
    expect(ms).toBeLessThan(5000);
    // early frames need no seek
    await v.readFrames([3]);
    expect(v.stats).toEqual({ reads: 2, seeks: 1 });
  });
  test('[start, end) trimming re-bases the indices', async () => {
    const v = await openVideo(long, { start: 10, end: 12 });
    expect(v.info.numFrames).toBe(50);
    expect(v.firstFrame).toBe(250);
    const f = await v.readFrames([0, 49]);
    expect(maxAbsDiff(f.data, ffmpegReference(long, [250, 299]))).toBe(0);
    await expect(openVideo(long, { start: 70, end: 80 })).rejects.toBeInstanceOf(FrameIndexError);
  });
  test('variable frame rate: indices count frames, not time', async () => {
    const v = await openVideo(vfr);
    expect(v.probe.variableFrameRate).toBe(true);
    const n = v.info.numFrames;
    const idx = frameIndices({ numFrames: 6, numVideoFrames: n, sample: 'middle' });
    const f = await v.readFrames(idx);
    expect(maxAbsDiff(f.data, ffmpegReference(vfr, idx))).toBe(0);
  });
  test('rotation metadata: frames come out upright, width and height swapped', async () => {
    const v = await openVideo(rotated, { geometry: 'coded' });
    expect(v.probe.rotation === 90 || v.probe.rotation === 270).toBe(true);
    expect(v.info).toMatchObject({ width: 256, height: 340 });
    const f = await v.readFrames([3]);
    expect(maxAbsDiff(f.data, ffmpegReference(rotated, [3]))).toBe(0);
    // against the unrotated source: a 90° turn of the same picture
    const src = ffmpegReference(part0, [3]);
    const W = 340;
    const H = 256;
    let same = 0;
    for (let y = 0; y < H; y += 8) {
      for (let x = 0; x < W; x += 8) {
        const a = src[(y * W + x) * 3];
        const yr = v.probe.rotation === 90 ? x : W - 1 - x;
        const xr = v.probe.rotation === 90 ? H - 1 - y : y;
        const b = f.data[(yr * H + xr) * 3];
        if (Math.abs(a - b) <= 2) same++;
      }
    }
    expect(same / ((W / 8) * (H / 8))).toBeGreaterThan(0.95);
  });
  test('no process or buffer outlives a read of a huge index list', async () => {
    const v = await openVideo(long);
    writeFileSync(join(dir, 'marker'), '');
    const idx = Array.from({ length: 64 }, (_, i) => i * 23);
    const f = await v.readFrames(idx, { width: 32, height: 32 });
    expect(f.count).toBe(64);
    expect(f.data.length).toBe(64 * 32 * 32 * 3);
  });
});
