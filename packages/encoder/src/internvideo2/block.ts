import * as tf from '@tensorflow/tfjs-core';
import { DropPath, GELU, Linear, Module, type Rng, RMSNorm } from '@iv2/core';
import type { GeluApproximate } from '@iv2/core';
import { Attention } from './attention.js';

/** `Mlp`: fc1 → GELU → fc2 (both with bias). */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;

  constructor(dim: number, hidden: number, approximate: GeluApproximate, rng: Rng) {
    super();
    this.fc1 = this.addModule('fc1', new Linear(dim, hidden, { rng }));
    this.act = new GELU(approximate);
    this.fc2 = this.addModule('fc2', new Linear(hidden, dim, { rng }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.fc2.forward(this.act.forward(this.fc1.forward(x))));
  }
}

/** `LayerScale`: key `gamma` `[C]`. */
export class LayerScale extends Module {
  readonly gamma: tf.Variable;

  constructor(dim: number, initValues: number) {
    super();
    this.gamma = this.addParameter('gamma', tf.fill([dim], initValues));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.gamma);
  }
}

export interface BlockOptions {
  mlpHidden: number;
  qkvBias: boolean;
  qkNormalization: boolean;
  initValues: number;
  dropPath: number;
  gelu: GeluApproximate;
  rng: Rng;
}

/** `Block`: x += DropPath(γ1 ⊙ Attn(RMSNorm(x))); x += DropPath(γ2 ⊙ MLP(RMSNorm(x))). */
export class Block extends Module {
  readonly norm1: RMSNorm;
  readonly attn: Attention;
  readonly ls1: LayerScale | null;
  readonly norm2: RMSNorm;
  readonly mlp: Mlp;
  readonly ls2: LayerScale | null;
  readonly dropPath1: DropPath;
  readonly dropPath2: DropPath;
  /** The generator drop path draws from (replayed when the block is checkpointed). */
  readonly rng: Rng;

  constructor(dim: number, numHeads: number, o: BlockOptions) {
    super();
    this.rng = o.rng;
    this.norm1 = this.addModule('norm1', new RMSNorm(dim, 1e-6));
    this.attn = this.addModule('attn', new Attention(dim, numHeads, { qkvBias: o.qkvBias, qkNormalization: o.qkNormalization, rng: o.rng }));
    this.ls1 = o.initValues ? this.addModule('ls1', new LayerScale(dim, o.initValues)) : null;
    this.dropPath1 = new DropPath(o.dropPath, o.rng);
    this.norm2 = this.addModule('norm2', new RMSNorm(dim, 1e-6));
    this.mlp = this.addModule('mlp', new Mlp(dim, o.mlpHidden, o.gelu, o.rng));
    this.ls2 = o.initValues ? this.addModule('ls2', new LayerScale(dim, o.initValues)) : null;
    this.dropPath2 = new DropPath(o.dropPath, o.rng);
  }

  override train(mode = true): this {
    super.train(mode);
    this.dropPath1.train(mode);
    this.dropPath2.train(mode);
    return this;
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      let a = this.attn.forward(this.norm1.forward(x) as tf.Tensor3D) as tf.Tensor;
      if (this.ls1) a = this.ls1.forward(a);
      const y = tf.add(x, this.dropPath1.forward(a));
      let m = this.mlp.forward(this.norm2.forward(y));
      if (this.ls2) m = this.ls2.forward(m);
      return tf.add(y, this.dropPath2.forward(m)) as tf.Tensor3D;
    });
  }
}
