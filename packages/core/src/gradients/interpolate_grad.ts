import * as tf from '@tensorflow/tfjs-core';
import { bicubicWeights, linearWeights, resampleAxis, transposeWeights } from '../kernels/composite/interpolate.js';
import {
  InterpolateBicubic2d, type InterpolateBicubic2dAttrs, InterpolateLinear1d, type InterpolateLinear1dAttrs,
} from '../kernels/kernel_names.js';

/** Resizing is linear in x: its gradient resamples dy back with the transposed weight matrices. */
export const interpolateLinear1dGradConfig: tf.GradConfig = {
  kernelName: InterpolateLinear1d,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { size, axis } = attrs as unknown as InterpolateLinear1dAttrs;
    const ax = axis < 0 ? axis + x.rank : axis;
    const nIn = x.shape[ax];
    return { x: () => resampleAxis(dy as tf.Tensor, ax, transposeWeights(linearWeights(nIn, size), size, nIn), nIn) };
  },
};

export const interpolateBicubic2dGradConfig: tf.GradConfig = {
  kernelName: InterpolateBicubic2d,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { size } = attrs as unknown as InterpolateBicubic2dAttrs;
    const [, h, w] = x.shape;
    return {
      x: () =>
        tf.tidy(() => {
          const cols = resampleAxis(dy as tf.Tensor, 2, transposeWeights(bicubicWeights(w, size[1]), size[1], w), w);
          return resampleAxis(cols, 1, transposeWeights(bicubicWeights(h, size[0]), size[0], h), h);
        }),
    };
  },
};
