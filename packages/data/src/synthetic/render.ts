import type { Rng } from '@iv2/core';

export const COLORS = { red: [220, 40, 40], green: [40, 190, 60], blue: [50, 90, 230], yellow: [235, 210, 40] } as const;
export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const MOTIONS = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] } as const;

export type ColorName = keyof typeof COLORS;
export type ShapeName = (typeof SHAPES)[number];
export type MotionName = keyof typeof MOTIONS;

export interface ClipSpec {
  color: ColorName;
  shape: ShapeName;
  motion: MotionName;
}

/** "a red circle moves left" — the caption and the class name of a clip. */
export function describeClip(s: ClipSpec): string {
  return `a ${s.color} ${s.shape} moves ${s.motion}`;
}

function inside(shape: ShapeName, dx: number, dy: number, r: number): boolean {
  if (shape === 'circle') return dx * dx + dy * dy <= r * r;
  if (shape === 'square') return Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85;
  // upward triangle with its base at dy = r·0.8
  const t = (dy + r) / (1.8 * r);
  return t >= 0 && t <= 1 && Math.abs(dx) <= t * r;
}

/**
 * Renders one clip to packed rgb24 frames `[T, H, W, 3]`: a shape of random size crossing a dim, slightly
 * textured background, 30–60 % of the frame over the clip, starting from a random place that keeps it in view.
 */
export function renderClip(spec: ClipSpec, width: number, height: number, numFrames: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(numFrames * width * height * 3);
  const side = Math.min(width, height);
  const r = side * (0.12 + 0.08 * rng.uniform());
  const [mx, my] = MOTIONS[spec.motion];
  const travelX = width * (0.3 + 0.3 * rng.uniform());
  const travelY = height * (0.3 + 0.3 * rng.uniform());
  const span = (len: number, travel: number, dir: number) => {
    // start so that the whole path stays inside [r, len − r]
    const lo = dir < 0 ? r + travel : r;
    const hi = dir > 0 ? len - r - travel : len - r;
    return lo + (hi - lo) * rng.uniform();
  };
  const x0 = mx === 0 ? r + (width - 2 * r) * rng.uniform() : span(width, travelX, mx);
  const y0 = my === 0 ? r + (height - 2 * r) * rng.uniform() : span(height, travelY, my);
  const bg = [20 + rng.int(0, 30), 20 + rng.int(0, 30), 20 + rng.int(0, 30)];
  const col = COLORS[spec.color];
  for (let t = 0; t < numFrames; t++) {
    const f = numFrames > 1 ? t / (numFrames - 1) : 0;
    const cx = x0 + mx * travelX * f;
    const cy = y0 + my * travelY * f;
    const base = t * width * height * 3;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = base + (y * width + x) * 3;
        const on = inside(spec.shape, x + 0.5 - cx, y + 0.5 - cy, r);
        // a fixed checker texture gives the encoder and the model something static to ignore
        const tex = ((x >> 3) + (y >> 3)) & 1 ? 8 : 0;
        out[o] = on ? col[0] : bg[0] + tex;
        out[o + 1] = on ? col[1] : bg[1] + tex;
        out[o + 2] = on ? col[2] : bg[2] + tex;
      }
    }
  }
  return out;
}
