import * as tf from '@tensorflow/tfjs-core';
import { defaultRng, Module, type Rng, torchDefaultUniform } from '@iv2/core';

/**
 * `PatchEmbed`: Conv3d(in_chans → C, kernel = stride = (tubelet, P, P)), no norm. Since stride = kernel, it runs
 * as a 2-D convolution over frames with the tubelet folded into channels: the same sums, and conv2d has fast
 * kernels on every backend. Key: `proj.weight` `[C, in, kT, P, P]`, `proj.bias` `[C]`.
 */
export class PatchEmbed extends Module {
  readonly proj: Conv3dParams;

  constructor(
    readonly inChans: number,
    readonly embedDim: number,
    readonly patchSize: number,
    readonly tubeletSize: number,
    rng: Rng = defaultRng(),
  ) {
    super();
    this.proj = this.addModule('proj', new Conv3dParams(inChans, embedDim, [tubeletSize, patchSize, patchSize], rng));
  }

  /** `[B, in, T, H, W]` → `[B, T', Hp·Wp, C]` (time-major, row-major space). */
  forward(x: tf.Tensor5D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, c, t, h, w] = x.shape;
      const p = this.patchSize;
      const kt = this.tubeletSize;
      const tt = Math.floor(t / kt);
      const hp = Math.floor(h / p);
      const wp = Math.floor(w / p);
      // Remainder pixels / frames are dropped, as the official valid convolution does.
      let v: tf.Tensor = x;
      if (h !== hp * p || w !== wp * p || t !== tt * kt) v = tf.slice(x, [0, 0, 0, 0, 0], [b, c, tt * kt, hp * p, wp * p]);
      // [B, C, T, H, W] → [B·T', H, W, kT·C] with channel order (kT, C).
      v = tf.transpose(v, [0, 2, 3, 4, 1]); // [B, T, H, W, C]
      if (kt > 1) {
        v = tf.reshape(v, [b, tt, kt, hp * p, wp * p, c]);
        v = tf.transpose(v, [0, 1, 3, 4, 2, 5]);
      }
      v = tf.reshape(v, [b * tt, hp * p, wp * p, kt * c]);
      const filter = tf.reshape(tf.transpose(this.proj.weight, [1, 2, 0, 3, 4]), [p, p, kt * c, this.embedDim]);
      const y = tf.add(tf.conv2d(v as tf.Tensor4D, filter as tf.Tensor4D, p, 'valid'), this.proj.bias);
      return tf.reshape(y, [b, tt, hp * wp, this.embedDim]) as tf.Tensor4D;
    });
  }
}

/** The parameters of a torch Conv3d, stored in tfjs conv3d layout `[kT, kH, kW, in, out]`. */
export class Conv3dParams extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(inC: number, outC: number, k: [number, number, number], rng: Rng) {
    super();
    const fanIn = inC * k[0] * k[1] * k[2];
    this.weight = this.addParameter('weight', torchDefaultUniform(rng, [...k, inC, outC], fanIn), 'conv3d');
    this.bias = this.addParameter('bias', torchDefaultUniform(rng, [outC], fanIn));
  }
}
