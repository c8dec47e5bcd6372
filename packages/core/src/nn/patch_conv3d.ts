import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random/rng.js';
import { defaultRng, torchDefaultUniform } from './init.js';
import { Module } from './module.js';

/**
 * torch.nn.Conv3d with kernel = stride (a patchifier): keys `weight` `[out, in, kT, kH, kW]` and `bias`. It runs as
 * a patchify and one matrix product, the same sums as the 3-D convolution, on kernels every backend has (several
 * lack conv3d). `[B, in, T, H, W]` →
 * `[B, T/kT, H/kH, W/kW, out]`; remainders are dropped, as a valid convolution does.
 */
export class PatchConv3d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: [number, number, number],
    rng: Rng = defaultRng(),
  ) {
    super();
    const fanIn = inChannels * kernel[0] * kernel[1] * kernel[2];
    this.weight = this.addParameter('weight', torchDefaultUniform(rng, [...kernel, inChannels, outChannels], fanIn), 'conv3d');
    this.bias = this.addParameter('bias', torchDefaultUniform(rng, [outChannels], fanIn));
  }

  forward(x: tf.Tensor5D): tf.Tensor5D {
    return tf.tidy(() => {
      const [b, c, t, h, w] = x.shape;
      const [kt, kh, kw] = this.kernel;
      const [tt, hp, wp] = [Math.floor(t / kt), Math.floor(h / kh), Math.floor(w / kw)];
      let v: tf.Tensor = x;
      if (t !== tt * kt || h !== hp * kh || w !== wp * kw) v = tf.slice(x, [0, 0, 0, 0, 0], [b, c, tt * kt, hp * kh, wp * kw]);
      // kernel = stride: each output is one patch · weight, so the convolution is a patchify and one matrix
      // product, whose gradients are matrix products too (a strided conv's filter gradient is slow on wasm).
      v = tf.transpose(v, [0, 2, 3, 4, 1]); // [B, T, H, W, C]
      v = tf.reshape(v, [b * tt, kt, hp, kh, wp, kw * c]);
      v = tf.transpose(v, [0, 2, 4, 1, 3, 5]); // [B·T', H', W', kT, kH, kW·C]
      v = tf.reshape(v, [b * tt * hp * wp, kt * kh * kw * c]);
      // [kT, kH, kW, in, out] → [kT·kH·kW·in, out], the patch's (kT, kH, kW, C) order above.
      const y = tf.add(tf.matMul(v as tf.Tensor2D, tf.reshape(this.weight, [kt * kh * kw * c, this.outChannels]) as tf.Tensor2D), this.bias);
      return tf.reshape(y, [b, tt, hp, wp, this.outChannels]) as tf.Tensor5D;
    });
  }
}
