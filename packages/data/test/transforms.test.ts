import { readFileSync } from 'node:fs';
import { Rng } from '@iv2/core';
import { describe, expect, test } from 'vitest';
import {
  type Clip,
  IMAGENET_MEAN,
  IMAGENET_STD,
  centerCrop,
  clipFromFrames,
  evalTransform,
  hflip,
  multiScaleCropParams,
  normalizationFor,
  normalize,
  randomResizedCropParams,
  resize,
  stackClips,
  stage1TrainTransform,
  stage2TrainTransform,
} from '../src/index.js';

// test/golden/gen_resize.py: torch.nn.functional.interpolate on a random uint8 clip
const golden = JSON.parse(readFileSync(new URL('./golden/resize.json', import.meta.url), 'utf8')) as {
  input_shape: number[];
  input: number[];
  cases: Array<{ mode: 'bilinear' | 'bicubic'; size: [number, number]; float: number[]; uint8: number[] }>;
};

function goldenClip(): Clip {
  const [t, c, h, w] = golden.input_shape;
  return { data: Float32Array.from(golden.input), t, c, h, w };
}

describe('resize = torch F.interpolate (align_corners=False)', () => {
  for (const g of golden.cases) {
    test(`${g.mode} ${golden.input_shape.slice(2).join('x')} → ${g.size.join('x')}`, () => {
      const f = resize(goldenClip(), g.size[0], g.size[1], g.mode, { roundToUint8: false });
      let maxErr = 0;
      f.data.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - g.float[i]))));
      expect(maxErr).toBeLessThan(2e-3);
      const u = resize(goldenClip(), g.size[0], g.size[1], g.mode);
      let off = 0;
      u.data.forEach((v, i) => {
        if (v === g.uint8[i]) return;
        off++;
        // torch's vectorised float32 kernel lands a hair either side of exact .5 ties; nothing else may differ
        expect(Math.abs(v - g.uint8[i])).toBe(1);
        expect(Math.abs((g.float[i] % 1) - 0.5)).toBeLessThan(1e-3);
      });
      expect(off / u.data.length).toBeLessThan(0.02);
    });
  }
});

describe('crops, flip, normalisation, layout', () => {
  const frames = {
    data: Uint8Array.from({ length: 2 * 4 * 6 * 3 }, (_, i) => i % 256),
    count: 2,
    height: 4,
    width: 6,
  };
  test('clipFromFrames → [T,3,H,W] and stackClips → [B,3,T,H,W]', () => {
    const c = clipFromFrames(frames);
    expect([c.t, c.c, c.h, c.w]).toEqual([2, 3, 4, 6]);
    // frame 1, channel 2 (blue), y 3, x 5
    expect(c.data[((1 * 3 + 2) * 4 + 3) * 6 + 5]).toBe(frames.data[((1 * 4 + 3) * 6 + 5) * 3 + 2]);
    const s = stackClips([c, c]);
    expect(s.shape).toEqual([2, 3, 2, 4, 6]);
    // b 1, channel 2, t 1, y 3, x 5
    expect(s.data[(((1 * 3 + 2) * 2 + 1) * 4 + 3) * 6 + 5]).toBe(c.data[((1 * 3 + 2) * 4 + 3) * 6 + 5]);
  });
  test('centerCrop uses round((H−h)/2), hflip mirrors, normalize uses /255 then mean/std', () => {
    const c = clipFromFrames(frames);
    const cc = centerCrop(c, 2, 3);
    expect(cc.data[0]).toBe(c.data[1 * 6 + 2]); // top = 1, left = round(1.5) = 2
    const f = hflip(c);
    expect(f.data[0]).toBe(c.data[5]);
    const n = normalize(c, IMAGENET_MEAN, IMAGENET_STD);
    expect(n.data[c.h * c.w]).toBeCloseTo((c.data[c.h * c.w] / 255 - 0.456) / 0.224, 6);
  });
  test('ImageNet statistics for internvideo encoders, CLIP statistics only for clip* encoders', () => {
    expect(normalizationFor('internvideo2-1B').mean).toEqual(IMAGENET_MEAN);
    expect(normalizationFor('clip_vit_l14').mean[0]).toBeCloseTo(0.48145466, 8);
  });
});

describe('random crops follow the official parameter rules', () => {
  test('RandomResizedCrop boxes lie in the frame with area in scale·HW and ratio in range (or the fallback)', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 500; i++) {
      const p = randomResizedCropParams(256, 455, [0.5, 1], [3 / 4, 4 / 3], rng);
      expect(p.top + p.height).toBeLessThanOrEqual(256);
      expect(p.left + p.width).toBeLessThanOrEqual(455);
      const area = (p.width * p.height) / (256 * 455);
      expect(area).toBeGreaterThan(0.49);
      expect(area).toBeLessThanOrEqual(1);
      const r = p.width / p.height;
      expect(r).toBeGreaterThan(0.74);
      expect(r).toBeLessThan(1.34);
    }
    // impossible scale: the central fallback clipped to the ratio range
    const f = randomResizedCropParams(100, 400, [2, 3], [3 / 4, 4 / 3], new Rng(1));
    expect(f).toEqual({ top: 0, left: 133, height: 100, width: 133 });
  });
  test('multi-scale crop sizes come from {1,.875,.75,.66}·short side with ≤1 step of distortion, 13 positions', () => {
    const rng = new Rng(3);
    const sizes = new Set([256, 224, 192, 168]);
    const lefts = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const p = multiScaleCropParams(256, 340, 224, rng);
      expect(sizes.has(p.height) && sizes.has(p.width)).toBe(true);
      const order = [256, 224, 192, 168];
      expect(Math.abs(order.indexOf(p.height) - order.indexOf(p.width))).toBeLessThanOrEqual(1);
      expect(p.left + p.width).toBeLessThanOrEqual(340);
      expect(p.top + p.height).toBeLessThanOrEqual(256);
      lefts.add(`${p.width}:${p.left}:${p.top}` as unknown as number);
    }
    expect(lefts.size).toBeGreaterThan(40);
  });
  test('stage transforms give size² normalised clips, reproducible from the seed', () => {
    const c: Clip = { data: Float32Array.from({ length: 2 * 3 * 60 * 80 }, (_, i) => (i * 7) % 256), t: 2, c: 3, h: 60, w: 80 };
    for (const tf of [stage1TrainTransform({ size: 32 }), stage2TrainTransform({ size: 32 }), evalTransform({ size: 32 })]) {
      const a = tf(c, new Rng(11));
      const b = tf(c, new Rng(11));
      expect([a.t, a.c, a.h, a.w]).toEqual([2, 3, 32, 32]);
      expect(a.data).toEqual(b.data);
      expect(Math.max(...a.data)).toBeLessThan(2.7);
      expect(Math.min(...a.data)).toBeGreaterThan(-2.2);
    }
  });
});
