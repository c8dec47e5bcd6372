import * as tf from '@tensorflow/tfjs-core';
import { Attention, AttentionGrad, type AttentionAttrs, type AttentionGradOutput } from '../kernels/kernel_names.js';

/**
 * Each input's gradient is one `IV2AttentionGrad` kernel (WGSL passes on webgpu, composite elsewhere), asked for
 * that input only. A scalar mask shifts every score of a row equally, so its gradient is exactly zero.
 */
export const attentionGradConfig: tf.GradConfig = {
  kernelName: Attention,
  inputsToSave: ['q', 'k', 'v', 'mask'],
  gradFunc: (dy, saved, attrs) => {
    const [q, k, v, mask] = saved;
    const { scale } = attrs as unknown as AttentionAttrs;
    const grad = (output: AttentionGradOutput) => () =>
      tf.engine().runKernel(AttentionGrad, { q, k, v, mask, dy: dy as tf.Tensor }, { scale, output } as never) as tf.Tensor;
    return { q: grad('dq'), k: grad('dk'), v: grad('dv'), mask: mask.size === 1 ? () => tf.zerosLike(mask) : grad('dmask') };
  },
};
