import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, type LayerNormAttrs, RmsNorm, type RmsNormAttrs } from '../kernels/kernel_names.js';
import { reduceTo } from './reduce_to.js';

/** y = w·x·r, r = (mean x² + eps)^−½: dx = r·(g − x·r²·mean(g·x)), g = dy·w; dw = Σ dy·x·r. */
export const rmsNormGradConfig: tf.GradConfig = {
  kernelName: RmsNorm,
  inputsToSave: ['x', 'weight'],
  gradFunc: (dy, saved, attrs) => {
    const [x, w] = saved;
    const { eps } = attrs as unknown as RmsNormAttrs;
    const d = dy as tf.Tensor;
    const r = () => tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
    return {
      x: () =>
        tf.tidy(() => {
          const rr = r();
          const g = tf.mul(d, w);
          return tf.mul(rr, tf.sub(g, tf.mul(tf.mul(x, tf.square(rr)), tf.mean(tf.mul(g, x), -1, true))));
        }),
      weight: () => tf.tidy(() => reduceTo(tf.mul(d, tf.mul(x, r())), w.shape)),
    };
  },
};

/** x̂ = (x − μ)·r: dx = r·(g − mean g − x̂·mean(g·x̂)), g = dy·w; dw = Σ dy·x̂; db = Σ dy. */
export const layerNormGradConfig: tf.GradConfig = {
  kernelName: LayerNorm,
  inputsToSave: ['x', 'weight', 'bias'],
  gradFunc: (dy, saved, attrs) => {
    const [x, w, b] = saved;
    const { eps } = attrs as unknown as LayerNormAttrs;
    const d = dy as tf.Tensor;
    const xhat = () => {
      const { mean, variance } = tf.moments(x, -1, true);
      return { xh: tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), r: tf.rsqrt(tf.add(variance, eps)) };
    };
    return {
      x: () =>
        tf.tidy(() => {
          const { xh, r } = xhat();
          const g = tf.mul(d, w);
          return tf.mul(r, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true))));
        }),
      weight: () => tf.tidy(() => reduceTo(tf.mul(d, xhat().xh), w.shape)),
      bias: () => tf.tidy(() => reduceTo(d, b.shape)),
    };
  },
};
