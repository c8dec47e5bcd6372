import * as tf from '@tensorflow/tfjs-core';
import { attentionGradConfig } from './attention_grad.js';
import { geluGradConfig } from './gelu_grad.js';
import { layerNormGradConfig, rmsNormGradConfig } from './norm_grads.js';

export const GRADIENTS: tf.GradConfig[] = [rmsNormGradConfig, layerNormGradConfig, geluGradConfig, attentionGradConfig];

let done = false;

/** One gradient per kernel name, for every backend. Idempotent. */
export function registerGradients(): void {
  if (done) return;
  done = true;
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}
