import * as tf from '@tensorflow/tfjs-core';
import { GELU, l2Normalize, LayerNorm, Linear, Module, type Rng } from '@iv2/core';

export type ClipNormType = 'l2' | 'none';

/**
 * `Linear_Decoder`. Its own Xavier init is overwritten by the parent's trunc-normal(0.02) in the official code,
 * so trunc-normal is what we use.
 * `Linear_Decoder`: LN(W·x + b), then x / ‖x‖ (no epsilon) when `l2`. Keys `head.*`, `norm.*`. */
export class LinearDecoder extends Module {
  readonly head: Linear;
  readonly norm: LayerNorm;

  constructor(inC: number, outC: number, readonly normType: ClipNormType, rng: Rng) {
    super();
    this.head = this.addModule('head', new Linear(inC, outC, { rng }));
    this.norm = this.addModule('norm', new LayerNorm(outC, 1e-5));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = this.norm.forward(this.head.forward(x));
      return this.normType === 'l2' ? l2Normalize(y, -1, 0) : y;
    });
  }
}

/** The `head` Sequential of `MLP_Decoder`: Linear (`0`), GELU (`1`), Linear (`2`). */
class MlpHead extends Module {
  readonly l0: Linear;
  readonly act = new GELU('none');
  readonly l2: Linear;

  constructor(inC: number, outC: number, rng: Rng) {
    super();
    this.l0 = this.addModule('0', new Linear(inC, inC, { rng }));
    this.l2 = this.addModule('2', new Linear(inC, outC, { rng }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.l2.forward(this.act.forward(this.l0.forward(x))));
  }
}

/** `MLP_Decoder`: LN(W2·GELU(W1·x + b1) + b2), then the L2 step. Keys `head.0.*`, `head.2.*`, `norm.*`. */
export class MlpDecoder extends Module {
  readonly head: MlpHead;
  readonly norm: LayerNorm;

  constructor(inC: number, outC: number, readonly normType: ClipNormType, rng: Rng) {
    super();
    this.head = this.addModule('head', new MlpHead(inC, outC, rng));
    this.norm = this.addModule('norm', new LayerNorm(outC, 1e-5));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = this.norm.forward(this.head.forward(x));
      return this.normType === 'l2' ? l2Normalize(y, -1, 0) : y;
    });
  }
}

export type Decoder = LinearDecoder | MlpDecoder;
