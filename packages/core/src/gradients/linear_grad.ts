import * as tf from '@tensorflow/tfjs-core';
import { Linear, type LinearAttrs } from '../kernels/kernel_names.js';

/** y = x·W + b: dx = dy·Wᵀ, dW = xᵀ·dy and db = Σ dy over all leading axes. */
export const linearGradConfig: tf.GradConfig = {
  kernelName: Linear,
  inputsToSave: ['x', 'weight', 'bias'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight, bias] = saved;
    const { hasBias } = attrs as unknown as LinearAttrs;
    const [inDim, outDim] = weight.shape;
    const dy2 = () => tf.reshape(dy as tf.Tensor, [-1, outDim]);
    return {
      x: () => tf.tidy(() => tf.reshape(tf.matMul(dy2(), weight, false, true), x.shape)),
      weight: () => tf.tidy(() => tf.matMul(tf.reshape(x, [-1, inDim]), dy2(), true, false)),
      bias: () => tf.tidy(() => (hasBias ? tf.sum(dy2(), 0) : tf.zerosLike(bias))),
    };
  },
};
