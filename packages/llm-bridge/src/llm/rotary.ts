// Rotary position embedding, rotate-half layout (LlamaRotaryEmbedding / MistralRotaryEmbedding): the cos/sin
// tables are computed in float32 as torch does (inv_freq, then t·inv_freq, then cos/sin) and indexed by position ids.
import * as tf from '@tensorflow/tfjs-core';

const f = Math.fround;

export class RotaryEmbedding {
  private cos: tf.Tensor2D | null = null;
  private sin: tf.Tensor2D | null = null;
  private cached = 0;

  constructor(
    readonly dim: number,
    readonly maxPositionEmbeddings: number,
    readonly base: number,
  ) {}

  /** Tables for positions 0 … n−1, grown (never shrunk) when a longer sequence comes. */
  private ensure(n: number): void {
    if (this.cos && n <= this.cached) return;
    const len = Math.max(n, this.maxPositionEmbeddings, this.cached);
    const half = this.dim / 2;
    const inv = new Float32Array(half);
    for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(this.base, f((2 * i) / this.dim))));
    const c = new Float32Array(len * this.dim);
    const s = new Float32Array(len * this.dim);
    for (let t = 0; t < len; t++) {
      for (let i = 0; i < half; i++) {
        const a = f(t * inv[i]);
        c[t * this.dim + i] = c[t * this.dim + i + half] = Math.cos(a);
        s[t * this.dim + i] = s[t * this.dim + i + half] = Math.sin(a);
      }
    }
    this.dispose();
    this.cos = tf.keep(tf.tensor2d(c, [len, this.dim]));
    this.sin = tf.keep(tf.tensor2d(s, [len, this.dim]));
    this.cached = len;
  }

  /** cos, sin `[B, 1, N, D]` for int32 position ids `[B, N]`. */
  tables(positionIds: tf.Tensor2D, maxPosition: number): [tf.Tensor4D, tf.Tensor4D] {
    this.ensure(maxPosition + 1);
    const [b, n] = positionIds.shape;
    return tf.tidy(() => {
      const flat = tf.reshape(positionIds, [-1]);
      return [
        tf.reshape(tf.gather(this.cos!, flat), [b, 1, n, this.dim]) as tf.Tensor4D,
        tf.reshape(tf.gather(this.sin!, flat), [b, 1, n, this.dim]) as tf.Tensor4D,
      ];
    });
  }

  dispose(): void {
    this.cos?.dispose();
    this.sin?.dispose();
    this.cos = this.sin = null;
    this.cached = 0;
  }
}

/** cat(−x₂, x₁) over the last axis. */
export function rotateHalf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const h = x.shape[x.rank - 1] / 2;
    const [x1, x2] = tf.split(x, [h, h], -1);
    return tf.concat([tf.neg(x2), x1], -1);
  });
}

/** x·cos + rotate_half(x)·sin (apply_rotary_pos_emb). */
export function applyRotary(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin)));
}
