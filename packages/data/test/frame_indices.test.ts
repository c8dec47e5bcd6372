import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@iv2/core';
import { describe, expect, test } from 'vitest';
import { FrameSamplingError, frameIndices, kineticsSparseIndices, tsnSparseIndices } from '../src/index.js';
import { FIXTURES } from './fixtures.js';

interface RefCase {
  num_frames: number;
  vlen: number;
  sample: string;
  input_fps: number;
  max_num_frames: number;
  indices: number[];
}
const refs = JSON.parse(readFileSync(join(FIXTURES, 'official/numpy_refs.json'), 'utf8')).frame_indices as RefCase[];

describe('frameIndices = official get_frame_indices (numpy_refs.json)', () => {
  test('the fixture has cases for middle and fps modes', () => {
    expect(refs.length).toBeGreaterThanOrEqual(6);
    expect(new Set(refs.map((c) => c.sample.replace(/[\d.]+$/, '')))).toEqual(new Set(['middle', 'fps']));
  });
  for (const c of refs) {
    test(`${c.sample} K=${c.num_frames} vlen=${c.vlen} fps=${c.input_fps} max=${c.max_num_frames}`, () => {
      const got = frameIndices({
        numFrames: c.num_frames,
        numVideoFrames: c.vlen,
        sample: c.sample as 'middle',
        inputFps: c.input_fps,
        maxNumFrames: c.max_num_frames,
      });
      expect(got).toEqual(c.indices);
    });
  }
});

describe('rand sampling', () => {
  test('one pick per interval, never its last frame, reproducible from the seed', () => {
    const a = frameIndices({ numFrames: 8, numVideoFrames: 300, sample: 'rand', rng: new Rng(3) });
    expect(frameIndices({ numFrames: 8, numVideoFrames: 300, sample: 'rand', rng: new Rng(3) })).toEqual(a);
    a.forEach((f, k) => {
      expect(f).toBeGreaterThanOrEqual(Math.trunc(k * 37.5));
      expect(f).toBeLessThan(Math.trunc((k + 1) * 37.5) - 1);
    });
    const seen = new Set<number>();
    const rng = new Rng(9);
    for (let i = 0; i < 400; i++) seen.add(frameIndices({ numFrames: 2, numVideoFrames: 6, sample: 'rand', rng })[0]);
    // interval [0, 2]: the official range(0, 2) gives 0 or 1, never 2
    expect([...seen].sort()).toEqual([0, 1]);
  });
  test('an empty interval falls back to sorted distinct random frames, padded to K', () => {
    // vlen 5, K 4: edges 0,1,2,3,5 → interval [0,0] is empty → fallback
    const got = frameIndices({ numFrames: 4, numVideoFrames: 5, sample: 'rand', rng: new Rng(1) });
    expect(got.length).toBe(4);
    expect(new Set(got).size).toBe(4);
    expect([...got].sort((x, y) => x - y)).toEqual(got);
    const padded = frameIndices({ numFrames: 6, numVideoFrames: 3, sample: 'rand', rng: new Rng(1) });
    expect(padded.length).toBe(6);
    expect(padded.slice(3)).toEqual([padded[2], padded[2], padded[2]]);
  });
  test('bad arguments are refused', () => {
    expect(() => frameIndices({ numFrames: 4, numVideoFrames: 10, sample: 'rand' })).toThrow(FrameSamplingError);
    expect(() => frameIndices({ numFrames: 4, numVideoFrames: 0, sample: 'middle' })).toThrow(FrameSamplingError);
    expect(() => frameIndices({ numFrames: 4, numVideoFrames: 10, sample: 'fast' as 'middle' })).toThrow(FrameSamplingError);
  });
});

describe('TSN sparse (stage 1) without the official off-by-one', () => {
  test('K segments of ⌊n/K⌋, one index per segment, never −1 / the wrapped last frame', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 50; trial++) {
      const idx = tsnSparseIndices({ numSegments: 8, numVideoFrames: 100, rng });
      idx.forEach((f, k) => {
        expect(f).toBeGreaterThanOrEqual(k * 12);
        expect(f).toBeLessThan((k + 1) * 12);
      });
    }
    // offset 0 maps to the segment start, not to the previous segment's end (the official −1)
    const firsts = new Set<number>();
    for (let t = 0; t < 300; t++) firsts.add(tsnSparseIndices({ numSegments: 8, numVideoFrames: 100, rng })[0]);
    expect(firsts.has(0)).toBe(true);
    expect(firsts.has(99)).toBe(false);
  });
  test('n < K spreads the frames instead of repeating the last', () => {
    expect(tsnSparseIndices({ numSegments: 8, numVideoFrames: 4, train: false })).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });
  test('[start, end) trimming', () => {
    const idx = tsnSparseIndices({ numSegments: 4, numVideoFrames: 100, startFrame: 40, endFrame: 60, train: false });
    expect(idx).toEqual([42, 47, 52, 57]);
  });
});

describe('kinetics_sparse (fine-tuning)', () => {
  test('test clips take seg·k rounded plus the clip offset', () => {
    // n = 33, K = 8: seg = 4; C = 1, clip 0 → offset ⌊4/2⌋ = 2
    expect(kineticsSparseIndices({ numFrames: 8, numVideoFrames: 33, clipIndex: 0, testNumSegment: 1 })).toEqual([
      2, 6, 10, 14, 18, 22, 26, 30,
    ]);
  });
  test('train picks inside [round(seg·k), round(seg·(k+1))]', () => {
    const rng = new Rng(2);
    const idx = kineticsSparseIndices({ numFrames: 8, numVideoFrames: 33, rng });
    idx.forEach((f, k) => {
      expect(f).toBeGreaterThanOrEqual(4 * k);
      expect(f).toBeLessThanOrEqual(4 * (k + 1));
    });
  });
});
