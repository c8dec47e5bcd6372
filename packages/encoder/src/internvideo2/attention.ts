import * as tf from '@tensorflow/tfjs-core';
import { attention, Linear, Module, type Rng, RMSNorm } from '@iv2/core';

/** `Attention`: fused qkv (no bias), QK RMSNorm over the full width before the head split, scaled softmax. */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly qNorm: RMSNorm | null;
  readonly kNorm: RMSNorm | null;
  readonly proj: Linear;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    opts: { qkvBias: boolean; qkNormalization: boolean; rng: Rng },
  ) {
    super();
    this.qkv = this.addModule('qkv', new Linear(dim, dim * 3, { bias: opts.qkvBias, rng: opts.rng }));
    this.qNorm = opts.qkNormalization ? this.addModule('q_norm', new RMSNorm(dim, 1e-6)) : null;
    this.kNorm = opts.qkNormalization ? this.addModule('k_norm', new RMSNorm(dim, 1e-6)) : null;
    this.proj = this.addModule('proj', new Linear(dim, dim, { rng: opts.rng }));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n, c] = x.shape;
      const h = this.numHeads;
      const d = c / h;
      let [q, k, v] = tf.split(this.qkv.forward(x), 3, -1);
      if (this.qNorm) q = this.qNorm.forward(q);
      if (this.kNorm) k = this.kNorm.forward(k);
      const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, n, h, d]), [0, 2, 1, 3]) as tf.Tensor4D;
      const o = attention(heads(q), heads(k), heads(v), { scale: d ** -0.5 });
      return this.proj.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, n, c])) as tf.Tensor3D;
    });
  }
}
