import * as tf from '@tensorflow/tfjs-core';
import { geluDerivative } from '../kernels/composite/gelu.js';
import { Gelu, type GeluAttrs } from '../kernels/kernel_names.js';

export const geluGradConfig: tf.GradConfig = {
  kernelName: Gelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { approximate } = attrs as unknown as GeluAttrs;
    return { x: () => tf.tidy(() => tf.mul(dy as tf.Tensor, geluDerivative(x, approximate))) };
  },
};
