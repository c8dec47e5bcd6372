import * as tf from '@tensorflow/tfjs-core';
import { attentionGradConfig } from './attention_grad.js';
import { geluGradConfig } from './gelu_grad.js';
import { interpolateBicubic2dGradConfig, interpolateLinear1dGradConfig } from './interpolate_grad.js';
import { l2NormalizeGradConfig } from './l2_normalize_grad.js';
import { linearGradConfig } from './linear_grad.js';
import { layerNormGradConfig, rmsNormGradConfig } from './norm_grads.js';
import { softCrossEntropyGradConfig } from './soft_cross_entropy_grad.js';
import { gatherTokensGradConfig, scatterTokensGradConfig } from './tokens_grad.js';

export const GRADIENTS: tf.GradConfig[] = [
  rmsNormGradConfig, layerNormGradConfig, geluGradConfig, attentionGradConfig, linearGradConfig, l2NormalizeGradConfig,
  softCrossEntropyGradConfig, gatherTokensGradConfig, scatterTokensGradConfig, interpolateLinear1dGradConfig,
  interpolateBicubic2dGradConfig,
];

let done = false;

/** One gradient per kernel name, for every backend. Idempotent. */
export function registerGradients(): void {
  if (done) return;
  done = true;
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}
