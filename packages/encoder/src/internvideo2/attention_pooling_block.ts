import * as tf from '@tensorflow/tfjs-core';
import { attention, LayerNorm, Linear, linear, Module, type Rng } from '@iv2/core';

/** `CrossAttention`: separate q/k/v Linears without bias plus stand-alone `q_bias`/`k_bias`/`v_bias`. */
export class CrossAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly qBias: tf.Variable | null;
  readonly kBias: tf.Variable | null;
  readonly vBias: tf.Variable | null;
  readonly proj: Linear;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    outDim: number,
    qkvBias: boolean,
    rng: Rng,
  ) {
    super();
    this.q = this.addModule('q', new Linear(dim, dim, { bias: false, rng }));
    this.k = this.addModule('k', new Linear(dim, dim, { bias: false, rng }));
    this.v = this.addModule('v', new Linear(dim, dim, { bias: false, rng }));
    this.qBias = qkvBias ? this.addParameter('q_bias', tf.zeros([dim])) : null;
    this.kBias = qkvBias ? this.addParameter('k_bias', tf.zeros([dim])) : null;
    this.vBias = qkvBias ? this.addParameter('v_bias', tf.zeros([dim])) : null;
    this.proj = this.addModule('proj', new Linear(dim, outDim, { rng }));
  }

  forward(xq: tf.Tensor3D, xk: tf.Tensor3D, xv: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.numHeads;
      const d = this.dim / h;
      const heads = (t: tf.Tensor, n: number) =>
        tf.transpose(tf.reshape(t, [t.shape[0], n, h, d]), [0, 2, 1, 3]) as tf.Tensor4D;
      const b = xq.shape[0];
      const q = heads(linear(xq, this.q.weight as tf.Tensor2D, this.qBias as tf.Tensor1D | null), xq.shape[1]);
      const k = heads(linear(xk, this.k.weight as tf.Tensor2D, this.kBias as tf.Tensor1D | null), xk.shape[1]);
      const v = heads(linear(xv, this.v.weight as tf.Tensor2D, this.vBias as tf.Tensor1D | null), xv.shape[1]);
      const o = attention(q, k, v, { scale: d ** -0.5 });
      return this.proj.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, xq.shape[1], this.dim])) as tf.Tensor3D;
    });
  }

  /** softmax(scale·q·kᵀ) averaged over heads, `[B, Nq, Nk]` (the teachers' `attn.mean(1)`). */
  attentionWeights(xq: tf.Tensor3D, xk: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.numHeads;
      const d = this.dim / h;
      const heads = (t: tf.Tensor, n: number) =>
        tf.transpose(tf.reshape(t, [t.shape[0], n, h, d]), [0, 2, 1, 3]) as tf.Tensor4D;
      const q = heads(linear(xq, this.q.weight as tf.Tensor2D, this.qBias as tf.Tensor1D | null), xq.shape[1]);
      const k = heads(linear(xk, this.k.weight as tf.Tensor2D, this.kBias as tf.Tensor1D | null), xk.shape[1]);
      const scores = tf.matMul(tf.mul(q, d ** -0.5), k, false, true);
      return tf.mean(tf.softmax(scores, -1), 1) as tf.Tensor3D;
    });
  }
}

/**
 * `AttentionPoolingBlock` (`clip_projector`): one query, the mean of all tokens, attends over the tokens; three
 * LayerNorms (eps 1e-5) on q, k and v; no residual, no MLP. `[B, M, C]` → `[B, out]`.
 */
export class AttentionPoolingBlock extends Module {
  readonly norm1Q: LayerNorm;
  readonly norm1K: LayerNorm;
  readonly norm1V: LayerNorm;
  readonly crossAttn: CrossAttention;

  constructor(dim: number, numHeads: number, outDim: number, rng: Rng) {
    super();
    this.norm1Q = this.addModule('norm1_q', new LayerNorm(dim, 1e-5));
    this.norm1K = this.addModule('norm1_k', new LayerNorm(dim, 1e-5));
    this.norm1V = this.addModule('norm1_v', new LayerNorm(dim, 1e-5));
    this.crossAttn = this.addModule('cross_attn', new CrossAttention(dim, numHeads, outDim, true, rng));
  }

  forward(x: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const q = this.norm1Q.forward(tf.mean(x, 1, true)) as tf.Tensor3D;
      const k = this.norm1K.forward(x) as tf.Tensor3D;
      const v = this.norm1V.forward(x) as tf.Tensor3D;
      return tf.squeeze(this.crossAttn.forward(q, k, v), [1]) as tf.Tensor2D;
    });
  }

  /**
   * The pooling query's attention over the tokens, averaged over heads: `[B, M]` (CLS column included). The
   * teachers of the official stage-1 and distillation engines take its columns 1… as the masking weights.
   */
  attention(x: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const q = this.norm1Q.forward(tf.mean(x, 1, true)) as tf.Tensor3D;
      const k = this.norm1K.forward(x) as tf.Tensor3D;
      return tf.squeeze(this.crossAttn.attentionWeights(q, k), [1]) as tf.Tensor2D;
    });
  }
}
