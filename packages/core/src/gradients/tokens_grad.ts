import * as tf from '@tensorflow/tfjs-core';
import { GatherTokens, ScatterTokens } from '../kernels/kernel_names.js';

/** Gathering and scattering tokens are each other's transpose: each one's gradient is the other kernel. */
export const gatherTokensGradConfig: tf.GradConfig = {
  kernelName: GatherTokens,
  inputsToSave: ['x', 'index'],
  gradFunc: (dy, saved) => {
    const [x, index] = saved;
    return {
      x: () => tf.engine().runKernel(ScatterTokens, { updates: dy as tf.Tensor, index }, { n: x.shape[1] } as never) as tf.Tensor,
      index: () => tf.zerosLike(index),
    };
  },
};

export const scatterTokensGradConfig: tf.GradConfig = {
  kernelName: ScatterTokens,
  inputsToSave: ['index'],
  gradFunc: (dy, saved) => {
    const [index] = saved;
    return {
      updates: () => tf.engine().runKernel(GatherTokens, { x: dy as tf.Tensor, index }, {}) as tf.Tensor,
      index: () => tf.zerosLike(index),
    };
  },
};
