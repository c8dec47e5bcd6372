// cache_utils.py `DynamicCache` (v4.40.1): per layer, the keys (after RoPE) and values `[B, kv_heads, T, D]`,
// grown by concatenation and never cropped (the sliding window lives in the mask).
import * as tf from '@tensorflow/tfjs-core';

export class KVCache {
  private keys: Array<tf.Tensor4D | null>;
  private values: Array<tf.Tensor4D | null>;
  /** Columns already cached (the same for every layer once a forward has finished). */
  length = 0;

  constructor(readonly numLayers: number) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /** Appends this step's k, v for one layer; returns the whole cached k, v. The old tensors are released. */
  update(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const ok = this.keys[layer];
    const ov = this.values[layer];
    const nk = tf.keep(ok ? (tf.concat([ok, k], 2) as tf.Tensor4D) : k.clone());
    const nv = tf.keep(ov ? (tf.concat([ov, v], 2) as tf.Tensor4D) : v.clone());
    ok?.dispose();
    ov?.dispose();
    this.keys[layer] = nk;
    this.values[layer] = nv;
    return [nk, nv];
  }

  /** Called by the model once every layer has been updated. */
  advance(n: number): void {
    this.length += n;
  }

  /** Bytes held (float32). */
  get bytes(): number {
    return this.keys.concat(this.values).reduce((s, t) => s + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}
