// cache_utils.py `DynamicCache` (v4.40.1): per layer, the keys (after RoPE) and values `[B, kv_heads, T, D]`,
// never cropped (the sliding window lives in the mask). Storage grows in blocks of `block` columns and a
// one-token step writes its column in place of a zero one, so tensor shapes (and with them the WebGPU programs
// tfjs compiles per shape) stay the same for a whole block; the unused columns lie after every query (masked
// by causality) and hold zeros.
import * as tf from '@tensorflow/tfjs-core';

export class KVCache {
  private keys: Array<tf.Tensor4D | null>;
  private values: Array<tf.Tensor4D | null>;
  /** Columns filled (the same for every layer once a forward has finished). */
  length = 0;
  /** Columns allocated (≥ length); what attention sees. */
  capacity = 0;
  private column: tf.Tensor4D | null = null;
  private reservedEnd = -1;

  /** `block` = 0 allocates exactly the filled columns (a new shape every step). */
  constructor(
    readonly numLayers: number,
    readonly block = 64,
  ) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /** Makes room for `n` more columns; returns the key width the next forward attends over. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need === this.reservedEnd) return this.capacity;
    this.reservedEnd = need;
    if (need > this.capacity) this.capacity = this.block > 0 ? Math.ceil(need / this.block) * this.block : need;
    else if (this.block === 0) this.capacity = need;
    this.column?.dispose();
    this.column = null;
    if (n === 1 && this.block > 0) {
      // One-hot over the columns: where this step's k/v go.
      const m = new Float32Array(this.capacity);
      m[this.length] = 1;
      this.column = tf.keep(tf.tensor4d(m, [1, 1, this.capacity, 1]));
    }
    return this.capacity;
  }

  /** Writes this step's k, v `[B, H, n, D]` for one layer; returns the whole storage `[B, H, capacity, D]`. */
  update(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    if (this.capacity < this.length + k.shape[2]) this.reserve(k.shape[2]);
    const nk = tf.keep(this.write(this.keys[layer], k));
    const nv = tf.keep(this.write(this.values[layer], v));
    this.keys[layer]?.dispose();
    this.values[layer]?.dispose();
    this.keys[layer] = nk;
    this.values[layer] = nv;
    return [nk, nv];
  }

  private write(old: tf.Tensor4D | null, x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, n, d] = x.shape;
      let buf = old;
      const have = buf ? buf.shape[2] : 0;
      if (buf && have < this.capacity) buf = tf.concat([buf, tf.zeros([b, h, this.capacity - have, d])], 2) as tf.Tensor4D;
      if (this.column && n === 1 && buf) {
        // buf·(1 − e_t) + x·e_t: the same shapes every step.
        return tf.add(tf.mul(buf, tf.sub(1, this.column)), tf.mul(x, this.column)) as tf.Tensor4D;
      }
      const parts: tf.Tensor[] = [];
      if (buf && this.length > 0) parts.push(tf.slice(buf, [0, 0, 0, 0], [b, h, this.length, d]));
      parts.push(x);
      const rest = this.capacity - this.length - n;
      if (rest > 0) parts.push(tf.zeros([b, h, rest, d]));
      return (parts.length === 1 ? parts[0].clone() : tf.concat(parts, 2)) as tf.Tensor4D;
    });
  }

  /** Called by the model once every layer has been updated. */
  advance(n: number): void {
    this.length += n;
  }

  /** Bytes held (float32). */
  get bytes(): number {
    return this.keys.concat(this.values).reduce((s, t) => s + (t ? t.size * 4 : 0), 0) + (this.column ? this.column.size * 4 : 0);
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.column?.dispose();
    this.column = null;
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
    this.capacity = 0;
    this.reservedEnd = -1;
  }
}
