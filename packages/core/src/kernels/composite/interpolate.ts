import * as tf from '@tensorflow/tfjs-core';

/** Row o holds the weights of the input samples for output o: PyTorch `mode='linear'`, align_corners=False. */
export function linearWeights(nIn: number, nOut: number): Float64Array {
  const w = new Float64Array(nOut * nIn);
  const r = nIn / nOut;
  for (let o = 0; o < nOut; o++) {
    const src = Math.max(r * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), nIn - 1);
    const lam = Math.min(Math.max(src - i0, 0), 1);
    const i1 = i0 < nIn - 1 ? i0 + 1 : i0;
    w[o * nIn + i0] += 1 - lam;
    w[o * nIn + i1] += lam;
  }
  return w;
}

/** PyTorch `mode='bicubic'`, align_corners=False, A = −0.75, taps clamped at the border, no antialias. */
export function bicubicWeights(nIn: number, nOut: number, a = -0.75): Float64Array {
  const w = new Float64Array(nOut * nIn);
  const r = nIn / nOut;
  const c1 = (u: number) => ((a + 2) * u - (a + 3)) * u * u + 1;
  const c2 = (u: number) => ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
  for (let o = 0; o < nOut; o++) {
    const src = r * (o + 0.5) - 0.5;
    const i = Math.floor(src);
    const t = src - i;
    const taps = [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
    for (let k = 0; k < 4; k++) {
      const idx = Math.min(Math.max(i - 1 + k, 0), nIn - 1);
      w[o * nIn + idx] += taps[k];
    }
  }
  return w;
}

/** Resamples one axis as a product with the `[nOut, nIn]` weight matrix (its gradient is the transposed product). */
export function resampleAxis(x: tf.Tensor, ax: number, weights: Float64Array, nOut: number): tf.Tensor {
  return tf.tidy(() => {
    const rank = x.rank;
    const nIn = x.shape[ax];
    const perm = [...Array(rank).keys()].filter((i) => i !== ax).concat([ax]);
    const moved = tf.transpose(x, perm);
    const lead = moved.shape.slice(0, -1);
    const wT = tf.tensor2d(Float32Array.from(weights), [nOut, nIn]);
    const y = tf.matMul(tf.reshape(moved, [-1, nIn]), wT, false, true);
    const back = tf.reshape(y, [...lead, nOut]);
    const inv = new Array<number>(rank);
    perm.forEach((p, i) => (inv[p] = i));
    return tf.transpose(back, inv);
  });
}

/** The `[nIn, nOut]` transpose of an `[nOut, nIn]` weight matrix: the resampling that is the gradient. */
export function transposeWeights(w: Float64Array, nOut: number, nIn: number): Float64Array {
  const t = new Float64Array(w.length);
  for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) t[i * nOut + o] = w[o * nIn + i];
  return t;
}

export function interpolateLinear1dComposite(x: tf.Tensor, size: number, axis: number): tf.Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  return resampleAxis(x, ax, linearWeights(x.shape[ax], size), size);
}

export function interpolateBicubic2dComposite(x: tf.Tensor, size: [number, number]): tf.Tensor {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const rows = resampleAxis(x, 1, bicubicWeights(h, size[0]), size[0]);
    return resampleAxis(rows, 2, bicubicWeights(w, size[1]), size[1]);
  });
}
