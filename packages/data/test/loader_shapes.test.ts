// Loader robustness: clips of different sizes in one batch, and corrupt videos whose errors name the frames that
// fail.
import { join } from 'node:path';
import { Rng } from '@iv2/core';
import { describe, expect, test } from 'vitest';
import { ClipShapeError, CorruptVideoError, openVideo, VideoLoader, VideoTextDataset } from '../src/index.js';
import { MEDIA, makeBadFiles, tempDir } from './fixtures.js';

describe('clips of different sizes (no decodeSize, no resizing transform)', () => {
  // example1.mp4 is 640×480, part_0.mp4 455×256 at display size.
  const records = ['example1.mp4', 'part_0.mp4', 'example1.mp4', 'part_0.mp4', 'part_0.mp4'].map((f) => ({ media: join(MEDIA, f), caption: f }));
  const ds = () => new VideoTextDataset(records, { numFrames: 2, sample: 'middle' });

  test("onError 'skip': a clip that differs from its batch's first clip is skipped and reported by name, the epoch goes on", async () => {
    const loader = new VideoLoader(ds(), { batchSize: 2, shuffle: false, onError: 'skip', concurrency: 2 });
    const batches: Array<{ indices: number[]; shape: number[] }> = [];
    for await (const b of loader.epoch(0)) batches.push({ indices: b.indices, shape: b.shape });
    // [0, 2] (640×480), then [3, 4] (455×256); 1 differs from 0 and is skipped.
    expect(batches).toEqual([
      { indices: [0, 2], shape: [2, 3, 2, 480, 640] },
      { indices: [3, 4], shape: [2, 3, 2, 256, 455] },
    ]);
    const rep = loader.epochReports[0];
    expect(rep.samples).toBe(4);
    expect(rep.skipped).toHaveLength(1);
    expect(rep.skipped[0]).toMatchObject({ index: 1, file: join(MEDIA, 'part_0.mp4'), error: 'ClipShapeError' });
    expect(rep.skipped[0].reason).toMatch(/clip \[T=2, C=3, H=256, W=455\] differs from the batch's \[T=2, C=3, H=480, W=640\].*decodeSize/);
  });

  test("onError 'throw': the typed error, not a RangeError", async () => {
    const loader = new VideoLoader(ds(), { batchSize: 2, shuffle: false, onError: 'throw' });
    const run = async () => {
      for await (const _ of loader.epoch(0)) void _;
    };
    const err = await run().catch((e) => e);
    expect(err).toBeInstanceOf(ClipShapeError);
    expect(err.file).toBe(join(MEDIA, 'part_0.mp4'));
  });

  test('with decodeSize every clip stacks', async () => {
    const loader = new VideoLoader(new VideoTextDataset(records, { numFrames: 2, sample: 'middle', decodeSize: { width: 32, height: 24 } }), {
      batchSize: 5, shuffle: false,
    });
    for await (const b of loader.epoch(0)) expect(b.shape).toEqual([5, 3, 2, 24, 32]);
    expect(loader.epochReports[0].skipped).toEqual([]);
  });
});

describe('corrupt video', () => {
  test('the error names exactly the selected frames that fail, and how', async () => {
    const bad = makeBadFiles(tempDir('corrupt-frames')).corrupt.file;
    const ds = new VideoTextDataset([{ media: bad }], { numFrames: 8, sample: 'middle', decodeSize: { width: 32, height: 32 } });
    const err = await ds.get(0, new Rng(0)).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptVideoError);
    const sel = /of the (\d+) selected \[([\d, ]+)\]/.exec(err.message);
    expect(sel, err.message).not.toBeNull();
    const selected = sel![2].split(', ').map(Number);
    expect(Number(sel![1])).toBe(selected.length);
    const frames = (re: RegExp) => (re.exec(err.message)?.[1].split(', ').map(Number) ?? []);
    const missing = frames(/frames? ([\d, ]+) cannot be decoded/);
    const concealed = frames(/frames? ([\d, ]+) decodes? only with errors concealed/);
    expect(missing.length + concealed.length).toBeGreaterThan(0);
    // Checked against reads of each frame alone: missing frames come out of no decode; concealed ones only when
    // errors are concealed; frames not named decode cleanly.
    const strict = await openVideo(bad);
    const lax = await openVideo(bad, { onDecodeError: 'conceal' });
    const ok = (src: typeof strict, f: number) => src.readFrames([f], { width: 32, height: 32 }).then(() => true, () => false);
    for (const f of selected) {
      expect(await ok(lax, f), `frame ${f} with concealment`).toBe(!missing.includes(f));
      expect(await ok(strict, f), `frame ${f}`).toBe(!missing.includes(f) && !concealed.includes(f));
    }
    await strict.close();
    await lax.close();
  });
});
