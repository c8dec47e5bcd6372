import { bicubicWeights, type HostTensor, linearWeights } from '@iv2/core';

/** `[sin(p·ω_k)…, cos(p·ω_k)…]` with ω_k = 10000^(−k/(D/2)), for each position (float64). */
function sincos1d(dim: number, positions: number[]): Float64Array[] {
  const half = dim / 2;
  return positions.map((p) => {
    const row = new Float64Array(dim);
    for (let k = 0; k < half; k++) {
      const out = p / 10000 ** (k / half);
      row[k] = Math.sin(out);
      row[half + k] = Math.cos(out);
    }
    return row;
  });
}

/**
 * The official `get_3d_sincos_pos_embed(embed_dim, grid_size, t_size, cls_token)`: C/4 temporal channels, then
 * 3C/8 for the patch column and 3C/8 for the patch row (MAE's "w first" meshgrid), time-major rows, and a zero
 * row first when `clsToken`. Returns `[(cls) + t·g², C]` as float32.
 */
export function get3dSincosPosEmbed(embedDim: number, gridSize: number, tSize: number, clsToken = false): Float32Array {
  if (embedDim % 16) throw new RangeError(`embed_dim ${embedDim}: the 3-D sin-cos table needs a multiple of 16`);
  const dt = embedDim / 4;
  const ds = (embedDim / 4) * 3;
  const temporal = sincos1d(dt, [...Array(tSize).keys()]);
  const axis = sincos1d(ds / 2, [...Array(gridSize).keys()]);
  const rows = (clsToken ? 1 : 0) + tSize * gridSize * gridSize;
  const out = new Float32Array(rows * embedDim);
  let r = clsToken ? 1 : 0;
  for (let t = 0; t < tSize; t++) {
    for (let i = 0; i < gridSize; i++) {
      for (let j = 0; j < gridSize; j++, r++) {
        const o = r * embedDim;
        out.set(temporal[t], o);
        out.set(axis[j], o + dt);
        out.set(axis[i], o + dt + ds / 2);
      }
    }
  }
  return out;
}

/** y[o] = Σ_i w[o, i] x[i] along one axis of a row-major array viewed as [outer, n, inner]. */
function resample(x: Float64Array, outer: number, n: number, inner: number, w: Float64Array, nOut: number): Float64Array {
  const y = new Float64Array(outer * nOut * inner);
  for (let a = 0; a < outer; a++) {
    for (let o = 0; o < nOut; o++) {
      const yo = (a * nOut + o) * inner;
      for (let i = 0; i < n; i++) {
        const wi = w[o * n + i];
        if (wi === 0) continue;
        const xo = (a * n + i) * inner;
        for (let c = 0; c < inner; c++) y[yo + c] += wi * x[xo + c];
      }
    }
  }
  return y;
}

export interface PosEmbedResize {
  /** Frames of the table as stored; rows = extra + fromFrames·side². */
  fromFrames: number;
  toFrames: number;
  /** Patch grid side of the target model. */
  toSide: number;
  /** Leading rows kept as they are (the CLS row): 1 for `pos_embed`, 0 for `mae_pos_embed`. */
  extraTokens?: number;
}

/**
 * The official `interpolate_pos_embed_internvideo2`: the leading extra rows are kept; the patch rows, viewed as
 * `[T, side, side, C]`, are resized linearly in time (align_corners=False), then bicubically in space (A = −0.75,
 * align_corners=False). `t` is `[1, rows, C]`.
 */
export function interpolatePosEmbed(t: HostTensor, r: PosEmbedResize): HostTensor {
  const extra = r.extraTokens ?? 1;
  const [, rows, c] = t.shape;
  const patchRows = rows - extra;
  const side = Math.round(Math.sqrt(patchRows / r.fromFrames));
  if (side * side * r.fromFrames !== patchRows) {
    throw new RangeError(`position table with ${patchRows} patch rows is not ${r.fromFrames} square frames`);
  }
  if (r.fromFrames === r.toFrames && side === r.toSide) return t;
  const src = t.data as Float32Array;
  let x: Float64Array = Float64Array.from(src.subarray(extra * c));
  let frames = r.fromFrames;
  if (frames !== r.toFrames) {
    x = resample(x, 1, frames, side * side * c, linearWeights(frames, r.toFrames), r.toFrames);
    frames = r.toFrames;
  }
  let s = side;
  if (s !== r.toSide) {
    const wh = bicubicWeights(s, r.toSide);
    x = resample(x, frames, s, s * c, wh, r.toSide); // rows
    x = resample(x, frames * r.toSide, s, c, wh, r.toSide); // columns
    s = r.toSide;
  }
  const out = new Float32Array((extra + frames * s * s) * c);
  out.set(src.subarray(0, extra * c));
  out.set(Float32Array.from(x), extra * c);
  return { dtype: 'float32', shape: [1, extra + frames * s * s, c], data: out };
}
