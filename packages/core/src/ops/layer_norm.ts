import * as tf from '@tensorflow/tfjs-core';
import '../kernels/setup.js';
import { LayerNorm } from '../kernels/kernel_names.js';

/** LayerNorm over the last axis with the biased variance, as torch.nn.LayerNorm. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor1D | null, bias: tf.Tensor1D | null, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const c = x.shape[x.rank - 1];
    const inputs = { x, weight: weight ?? tf.ones([c]), bias: bias ?? tf.zeros([c]) };
    return tf.engine().runKernel(LayerNorm, inputs, { eps } as never) as tf.Tensor;
  });
}
