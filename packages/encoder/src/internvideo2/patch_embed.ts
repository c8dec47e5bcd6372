import * as tf from '@tensorflow/tfjs-core';
import { defaultRng, Module, PatchConv3d, type Rng } from '@iv2/core';

/** `PatchEmbed`: Conv3d(in_chans → C, kernel = stride = (tubelet, P, P)), no norm; key prefix `proj.`. */
export class PatchEmbed extends Module {
  readonly proj: PatchConv3d;

  constructor(
    readonly inChans: number,
    readonly embedDim: number,
    readonly patchSize: number,
    readonly tubeletSize: number,
    rng: Rng = defaultRng(),
  ) {
    super();
    this.proj = this.addModule('proj', new PatchConv3d(inChans, embedDim, [tubeletSize, patchSize, patchSize], rng));
  }

  /** `[B, in, T, H, W]` → `[B, T', Hp·Wp, C]` (time-major, row-major space). */
  forward(x: tf.Tensor5D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.proj.forward(x);
      const [b, t, hp, wp, c] = y.shape;
      return tf.reshape(y, [b, t, hp * wp, c]) as tf.Tensor4D;
    });
  }
}
