import { roundHalfEven } from '../sampling/numpy_compat.js';
import type { Clip } from './clip.js';

export type Interpolation = 'bilinear' | 'bicubic';

/** Source taps and weights for one axis, following `torch.nn.functional.interpolate` with align_corners=False. */
function axisTaps(inSize: number, outSize: number, mode: Interpolation): { idx: Int32Array; wts: Float32Array; taps: number } {
  const scale = inSize / outSize;
  const taps = mode === 'bilinear' ? 2 : 4;
  const idx = new Int32Array(outSize * taps);
  const wts = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    if (mode === 'bilinear') {
      // area_pixel_compute_source_index clamps negative source positions to 0 for linear modes; torch computes
      // source positions and weights in float32
      const f = Math.fround;
      const src = Math.max(f(f(scale) * (o + 0.5) - 0.5), 0); // one rounding: the compiler fuses it (FMA)
      const i0 = Math.floor(src);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const l = f(src - i0);
      idx[2 * o] = Math.min(i0, inSize - 1);
      idx[2 * o + 1] = i1;
      wts[2 * o] = f(1 - l);
      wts[2 * o + 1] = l;
    } else {
      const src = (o + 0.5) * scale - 0.5;
      const i = Math.floor(src);
      const t = src - i;
      const A = -0.75;
      const c0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
      const c1 = ((A + 2) * t - (A + 3)) * t * t + 1;
      const c2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
      const c3 = ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A;
      const cs = [c0, c1, c2, c3];
      for (let k = 0; k < 4; k++) {
        idx[4 * o + k] = Math.min(Math.max(i - 1 + k, 0), inSize - 1);
        wts[4 * o + k] = cs[k];
      }
    }
  }
  return { idx, wts, taps };
}

export interface ResizeOptions {
  /**
   * Round and clamp to 0..255 like torchvision resizing a uint8 tensor (the official pipelines resize uint8 frames
   * before converting to float). Default true.
   */
  roundToUint8?: boolean;
}

/** Resize every plane of a clip (no antialiasing, like `F.interpolate` / torchvision on tensors of that era). */
export function resize(clip: Clip, height: number, width: number, mode: Interpolation, opts: ResizeOptions = {}): Clip {
  const { t, c, h, w } = clip;
  const round = opts.roundToUint8 ?? true;
  const H = axisTaps(h, height, mode);
  const W = axisTaps(w, width, mode);
  const planes = t * c;
  const out = new Float32Array(planes * height * width);
  const tmp = new Float64Array(h * width);
  // torch's bilinear kernel accumulates in float32; matching it decides the rounding of exact-looking .5 values
  const f32 = mode === 'bilinear';
  const fr = Math.fround;
  for (let p = 0; p < planes; p++) {
    const src = clip.data.subarray(p * h * w, (p + 1) * h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        if (f32) for (let k = 0; k < W.taps; k++) s = fr(s + fr(W.wts[x * W.taps + k] * src[y * w + W.idx[x * W.taps + k]]));
        else for (let k = 0; k < W.taps; k++) s += W.wts[x * W.taps + k] * src[y * w + W.idx[x * W.taps + k]];
        tmp[y * width + x] = s;
      }
    }
    const dst = p * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        if (f32) for (let k = 0; k < H.taps; k++) s = fr(s + fr(H.wts[y * H.taps + k] * tmp[H.idx[y * H.taps + k] * width + x]));
        else for (let k = 0; k < H.taps; k++) s += H.wts[y * H.taps + k] * tmp[H.idx[y * H.taps + k] * width + x];
        out[dst + y * width + x] = round ? Math.min(255, Math.max(0, roundHalfEven(s))) : s;
      }
    }
  }
  return { data: out, t, c, h: height, w: width };
}

/** Crop `[top, top+height) × [left, left+width)` of every frame. */
export function crop(clip: Clip, top: number, left: number, height: number, width: number): Clip {
  const { t, c, h, w } = clip;
  if (top < 0 || left < 0 || top + height > h || left + width > w || height < 1 || width < 1) {
    throw new RangeError(`crop ${height}x${width}+${top}+${left} outside ${h}x${w}`);
  }
  const out = new Float32Array(t * c * height * width);
  for (let p = 0; p < t * c; p++) {
    for (let y = 0; y < height; y++) {
      const s = p * h * w + (top + y) * w + left;
      out.set(clip.data.subarray(s, s + width), (p * height + y) * width);
    }
  }
  return { data: out, t, c, h: height, w: width };
}

/** torchvision `center_crop`: offsets `round((H − h)/2)`, `round((W − w)/2)` (Python round). */
export function centerCrop(clip: Clip, height: number, width: number): Clip {
  const top = roundHalfEven((clip.h - height) / 2);
  const left = roundHalfEven((clip.w - width) / 2);
  return crop(clip, top, left, height, width);
}

/** Mirror every frame left–right. */
export function hflip(clip: Clip): Clip {
  const { t, c, h, w } = clip;
  const out = new Float32Array(clip.data.length);
  for (let r = 0; r < t * c * h; r++) {
    const o = r * w;
    for (let x = 0; x < w; x++) out[o + x] = clip.data[o + w - 1 - x];
  }
  return { data: out, t, c, h, w };
}

/** `(x / 255 − mean) / std` per channel, in place on a copy. */
export function normalize(clip: Clip, mean: readonly number[], std: readonly number[]): Clip {
  const { t, c, h, w } = clip;
  const out = new Float32Array(clip.data.length);
  const hw = h * w;
  for (let ti = 0; ti < t; ti++) {
    for (let ci = 0; ci < c; ci++) {
      const o = (ti * c + ci) * hw;
      const m = mean[ci];
      const s = std[ci];
      for (let p = 0; p < hw; p++) out[o + p] = (clip.data[o + p] / 255 - m) / s;
    }
  }
  return { data: out, t, c, h, w };
}

/** Resize so the short side is `size`, keeping the aspect ratio (torchvision `Resize(int)`: long side truncated). */
export function resizeShortSide(clip: Clip, size: number, mode: Interpolation): Clip {
  const { h, w } = clip;
  if (h <= w) return resize(clip, size, Math.trunc((size * w) / h), mode);
  return resize(clip, Math.trunc((size * h) / w), size, mode);
}
