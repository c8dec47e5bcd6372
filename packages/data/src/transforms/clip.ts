import type { Frames } from '@iv2/core';

/**
 * A clip as the transforms see it: `[T, C, H, W]` planar float32 (C = 3), values in 0..255 until normalised.
 * This is the official layout (`TCHW` uint8 tensors in the stage-2 pipeline), kept in float so that resizes can
 * round like torchvision does on uint8 tensors without a second copy.
 */
export interface Clip {
  data: Float32Array;
  t: number;
  c: number;
  h: number;
  w: number;
}

/** Packed RGB frames `[T, H, W, 3]` uint8 → planar clip `[T, 3, H, W]`. */
export function clipFromFrames(f: Frames): Clip {
  const { count: t, height: h, width: w } = f;
  const hw = h * w;
  const out = new Float32Array(t * 3 * hw);
  for (let k = 0; k < t; k++) {
    const src = k * hw * 3;
    const dst = k * 3 * hw;
    for (let p = 0; p < hw; p++) {
      out[dst + p] = f.data[src + 3 * p];
      out[dst + hw + p] = f.data[src + 3 * p + 1];
      out[dst + 2 * hw + p] = f.data[src + 3 * p + 2];
    }
  }
  return { data: out, t, c: 3, h, w };
}

/** Stacks clips of one shape into `[B, 3, T, H, W]` (the encoder's layout). */
export function stackClips(clips: Clip[]): { data: Float32Array; shape: [number, number, number, number, number] } {
  if (clips.length === 0) throw new RangeError('stackClips needs at least one clip');
  const { t, c, h, w } = clips[0];
  for (const k of clips) {
    if (k.t !== t || k.c !== c || k.h !== h || k.w !== w) {
      throw new RangeError(`clip shape [${k.t},${k.c},${k.h},${k.w}] differs from [${t},${c},${h},${w}]`);
    }
  }
  const hw = h * w;
  const per = c * t * hw;
  const out = new Float32Array(clips.length * per);
  clips.forEach((k, b) => {
    for (let ti = 0; ti < t; ti++) {
      for (let ci = 0; ci < c; ci++) {
        const src = (ti * c + ci) * hw;
        const dst = b * per + (ci * t + ti) * hw;
        out.set(k.data.subarray(src, src + hw), dst);
      }
    }
  });
  return { data: out, shape: [clips.length, c, t, h, w] };
}
