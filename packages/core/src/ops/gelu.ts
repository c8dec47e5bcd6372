import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { Gelu } from '../kernels/kernel_names.js';

export type GeluApproximate = 'none' | 'tanh';

/**
 * GELU. `'none'` is the exact erf form (the official fp32 path); `'tanh'` is the approximation the released
 * weights were trained with (flash-attn's fused MLP).
 */
export function gelu(x: tf.Tensor, approximate: GeluApproximate = 'none'): tf.Tensor {
  return tf.engine().runKernel(Gelu, { x }, { approximate } as never) as tf.Tensor;
}
