import * as tf from '@tensorflow/tfjs-core';
import { gelu, type GeluApproximate } from '../ops/gelu.js';
import { layerNorm } from '../ops/layer_norm.js';
import { linear } from '../ops/linear.js';
import { rmsNorm } from '../ops/rms_norm.js';
import type { Rng } from '../random/rng.js';
import { defaultRng, truncNormal } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
  /** Weight std of the trunc-normal init (the InternVideo2 convention); biases start at 0. */
  std?: number;
}

/** torch.nn.Linear: keys `weight` `[out, in]` and `bias` `[out]`. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const rng = opts.rng ?? defaultRng();
    this.weight = this.addParameter('weight', truncNormal(rng, [inFeatures, outFeatures], opts.std ?? 0.02), 'linear');
    this.bias = opts.bias === false ? null : this.addParameter('bias', tf.zeros([outFeatures]));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | null);
  }
}

/** torch.nn.LayerNorm over the last axis: keys `weight`, `bias`. */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.addParameter('weight', tf.ones([dim]));
    this.bias = this.addParameter('bias', tf.zeros([dim]));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps);
  }
}

/** RMSNorm (weight only): key `weight`. */
export class RMSNorm extends Module {
  readonly weight: tf.Variable;

  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.addParameter('weight', tf.ones([dim]));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return rmsNorm(x, this.weight as tf.Tensor1D, this.eps);
  }
}

export class GELU extends Module {
  constructor(readonly approximate: GeluApproximate = 'none') {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    return gelu(x, this.approximate);
  }
}

/** x ⊙ keep / (1 − p), keep ~ Bernoulli(1 − p) drawn at `maskShape` (broadcast over x). */
function dropScaled(x: tf.Tensor, p: number, rng: Rng, maskShape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const keep = tf.cast(tf.greaterEqual(rng.uniformTensor(maskShape), p), 'float32');
    return tf.mul(x, tf.div(keep, 1 - p));
  });
}

/** Elementwise dropout with the inverted scaling; the identity in eval mode or when p = 0. */
export class Dropout extends Module {
  constructor(
    readonly p = 0,
    private readonly rng: Rng = defaultRng(),
  ) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    return !this.training || this.p === 0 ? x : dropScaled(x, this.p, this.rng, x.shape);
  }
}

/** Stochastic depth (timm DropPath): drops a whole sample's branch with probability p, scales the rest. */
export class DropPath extends Module {
  constructor(
    readonly p = 0,
    private readonly rng: Rng = defaultRng(),
  ) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return x;
    return dropScaled(x, this.p, this.rng, [x.shape[0], ...x.shape.slice(1).map(() => 1)]);
  }
}
