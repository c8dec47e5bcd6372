import * as tf from '@tensorflow/tfjs-core';
import { AdamWUpdate, type AdamWUpdateAttrs } from '../kernels/kernel_names.js';

/**
 * One AdamW step of one parameter (torch.optim.AdamW, decoupled weight decay): returns the new parameter and
 * moments. One kernel on cpu and wasm; thirteen ops elsewhere, with the same float32 results.
 */
export function adamwUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamWUpdateAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(AdamWUpdate, { param, grad, m, v }, attrs as never) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
