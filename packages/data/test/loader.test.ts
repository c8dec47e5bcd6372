import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@iv2/core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  type MediaRecord,
  MediaError,
  VideoLoader,
  type VideoSample,
  VideoTextDataset,
  epochOrder,
  evalTransform,
  loadRetrievalAnno,
  loadStage1List,
  metaLoader,
  recordsFromAnnotation,
  tsnSparseIndices,
  writeSyntheticDataset,
} from '../src/index.js';
import { MEDIA, ffmpegReference, makeBadFiles, tempDir } from './fixtures.js';

let good: MediaRecord[];
let bad: MediaRecord[];

beforeAll(async () => {
  const dir = tempDir('loader');
  const m = await writeSyntheticDataset({
    dir, clipsPerClass: 2, heldOutPerClass: 1, width: 32, height: 32, numFrames: 8, seed: 1,
    colors: ['red', 'green'], shapes: ['circle', 'triangle'], motions: ['up', 'right'],
  });
  const ret = await loadRetrievalAnno(join(dir, m.files.retrieval.train), { dataRoot: join(dir, 'videos') });
  good = ret.media.map((media, i) => ({ media, caption: ret.img2txt[i].map((t) => ret.texts[t]) }));
  const b = makeBadFiles(tempDir('loader-bad'));
  bad = Object.values(b).map((x) => ({ media: x.file, caption: 'bad file' }));
});

function dataset(records: MediaRecord[]) {
  return new VideoTextDataset(records, { numFrames: 4, sample: 'middle', transform: evalTransform({ size: 16 }) });
}

describe('loader', () => {
  test('a folder with bad files: every good sample arrives once, every bad one is reported with its error', async () => {
    const records = [...good, ...bad];
    const loader = new VideoLoader(dataset(records), { batchSize: 3, seed: 4, concurrency: 2, onError: 'skip' });
    const seen: number[] = [];
    for await (const b of loader.epoch(0)) {
      expect(b.shape.slice(1)).toEqual([3, 4, 16, 16]);
      expect(b.video.length).toBe(b.shape.reduce((x, y) => x * y, 1));
      seen.push(...b.indices);
      b.captions.forEach((c) => expect(c).toMatch(/^(a|the) /));
    }
    expect(seen.sort((a, b) => a - b)).toEqual(good.map((_, i) => i));
    const rep = loader.epochReports[0];
    expect(rep.samples).toBe(good.length);
    expect(rep.skipped.map((s) => s.file).sort()).toEqual(bad.map((r) => r.media).sort());
    expect(new Set(rep.skipped.map((s) => s.error))).toEqual(
      new Set(['VideoNotFoundError', 'EmptyFileError', 'NotAVideoError', 'CorruptVideoError', 'NoDecodableFrameError', 'NoVideoStreamError', 'AbsurdDimensionsError']),
    );
  });

  test("onError 'throw' fails fast with the typed error", async () => {
    const loader = new VideoLoader(dataset([good[0], bad[2], good[1]]), { batchSize: 1, shuffle: false, onError: 'throw' });
    const run = async () => {
      for await (const _ of loader.epoch(0)) void _;
    };
    await expect(run()).rejects.toBeInstanceOf(MediaError);
  });

  test('deterministic by seed and epoch; a resumed epoch continues exactly', async () => {
    expect(epochOrder(10, 3, 0)).toEqual(epochOrder(10, 3, 0));
    expect(epochOrder(10, 3, 0)).not.toEqual(epochOrder(10, 3, 1));
    const ds = new VideoTextDataset(good, { numFrames: 4, sample: 'rand', transform: evalTransform({ size: 16 }) });
    const full: number[][] = [];
    const fullData: Float32Array[] = [];
    for await (const b of new VideoLoader(ds, { batchSize: 2, seed: 9 }).epoch(2)) {
      full.push(b.indices);
      fullData.push(b.video);
    }
    let next = 0;
    for await (const b of new VideoLoader(ds, { batchSize: 2, seed: 9 }).epoch(2)) {
      next = b.next;
      break;
    }
    const resumed: number[][] = [];
    const resumedData: Float32Array[] = [];
    for await (const b of new VideoLoader(ds, { batchSize: 2, seed: 9 }).epoch(2, next)) {
      resumed.push(b.indices);
      resumedData.push(b.video);
    }
    expect(resumed).toEqual(full.slice(1));
    // per-sample randomness (rand frame sampling, caption choice) depends only on seed, epoch and index
    expect(resumedData[0]).toEqual(fullData[1]);
  });

  test('bounded prefetch: a consumer that stops pulling stalls decoding', async () => {
    let started = 0;
    class Counting extends VideoTextDataset {
      override get(i: number, rng: Rng, signal?: AbortSignal): Promise<VideoSample> {
        started++;
        return super.get(i, rng, signal);
      }
    }
    const loader = new VideoLoader(new Counting(good, { numFrames: 2, sample: 'middle' }), {
      batchSize: 1, prefetch: 2, concurrency: 2, shuffle: false,
    });
    const it = loader.epoch(0)[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 500));
    // one consumed + at most prefetch·B + concurrency ahead
    expect(started).toBeLessThanOrEqual(1 + 2 + 2);
    expect(started).toBeLessThan(good.length);
    await it.return?.(undefined);
  });

  test('abort cancels the epoch with the abort reason', async () => {
    const ac = new AbortController();
    const loader = new VideoLoader(dataset(good), { batchSize: 1, signal: ac.signal, concurrency: 2 });
    const run = async () => {
      let n = 0;
      for await (const _ of loader.epoch(0)) {
        void _;
        if (++n === 1) ac.abort(new Error('stop here'));
      }
    };
    await expect(run()).rejects.toThrow('stop here');
  });

  test('stage-1 list → dataset: [start, end] seconds trim and TSN sampling of the trimmed clip', async () => {
    const list = join(tempDir('s1'), 'k710.txt');
    writeFileSync(list, `k400 ${join(MEDIA, 'example1.mp4')} 8.0 2.0 6.0 0\nssv2 ${join(MEDIA, 'part_0.mp4')} 1.0 -1 -1 3\n`);
    const s1 = await loadStage1List(list);
    const ds = new VideoTextDataset(
      s1.map((x) => ({ media: x.path, startTime: x.startTime, endTime: x.endTime, flip: x.flip })),
      { numFrames: 4, sampler: (n, rng) => tsnSparseIndices({ numSegments: 4, numVideoFrames: n, rng }), decodeSize: { width: 32, height: 32 } },
    );
    const a = await ds.get(0, new Rng(1));
    // 2 s–6 s of a 5-fps clip = 20 frames, 4 segments of 5
    a.frameIndices.forEach((f, k) => {
      expect(f).toBeGreaterThanOrEqual(5 * k);
      expect(f).toBeLessThan(5 * (k + 1));
    });
    const ref = ffmpegReference(join(MEDIA, 'example1.mp4'), a.frameIndices.map((i) => i + 10), { width: 32, height: 32 });
    const mine = new Uint8Array(a.clip.data.length);
    // back to packed rgb for the comparison: [T,3,H,W] → [T,H,W,3]
    for (let t = 0; t < 4; t++) for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) mine[(t * 1024 + p) * 3 + c] = a.clip.data[(t * 3 + c) * 1024 + p];
    expect(Buffer.from(mine).equals(ref)).toBe(true);
    const b = await ds.get(1, new Rng(1));
    expect(b.frameIndices.length).toBe(4);
  });

  test('recordsFromAnnotation reads a folder + classification file', async () => {
    const dir = tempDir('cls');
    const m = await writeSyntheticDataset({ dir, clipsPerClass: 2, width: 32, height: 32, numFrames: 4, colors: ['red'], shapes: ['circle'], motions: ['left', 'right'] });
    const r = await recordsFromAnnotation(join(dir, m.files.classification.train), 'classification', { dataRoot: join(dir, 'videos'), classes: m.classes });
    expect(r.records.map((x) => x.label)).toEqual([0, 1]);
    const s = await new VideoTextDataset(r.records, { numFrames: 2, sample: 'middle' }).get(1, new Rng(0));
    expect(s.caption).toBe('a red circle moves right');
  });

  test('metaLoader: one media type per batch, seeded interleaving of all batches', async () => {
    const mk = (name: string, n: number) => ({
      name,
      batches: n,
      iterate: async function* () {
        for (let i = 0; i < n; i++) yield `${name}${i}`;
      },
    });
    const out: string[] = [];
    for await (const x of metaLoader([mk('video', 3), mk('image', 2)], 1, 0)) out.push(x.batch);
    expect(out.slice().sort()).toEqual(['image0', 'image1', 'video0', 'video1', 'video2']);
    expect(out.filter((s) => s.startsWith('video'))).toEqual(['video0', 'video1', 'video2']);
    const again: string[] = [];
    for await (const x of metaLoader([mk('video', 3), mk('image', 2)], 1, 0)) again.push(x.batch);
    expect(again).toEqual(out);
    void new Rng(0);
  });
});
