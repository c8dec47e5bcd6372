import * as tf from '@tensorflow/tfjs-core';
import { gumbelTopK, Rng } from '@iv2/core';
import { DrawReplayError } from './errors.js';

/**
 * Every random call the objectives make goes through one of these, under the name the golden fixtures record it
 * by (`draw.<name>`). All calls are synchronous and stay on the device, so they can run inside a gradient tape.
 */
export interface Draws {
  /** torch.multinomial(weights, numSamples, replacement) → int32 `[R, numSamples]` (weights `[R, N]`, ≥ 0). */
  multinomial(name: string, weights: tf.Tensor2D, numSamples: number, replacement: boolean): tf.Tensor2D;
  /** torch.bernoulli(full(shape, p)) → float32 0/1. */
  bernoulli(name: string, shape: number[], p: number): tf.Tensor;
  /** torch.randint(high, shape) → int32 in [0, high). */
  randint(name: string, high: number, shape: number[]): tf.Tensor;
  /**
   * `rows` masks over `n` positions with exactly `numMasked` true (masked) each, shuffled, as the official
   * `RandomMaskingGenerator` (numpy shuffle of zeros then ones) → bool `[rows, n]`.
   */
  randomMask(name: string, rows: number, n: number, numMasked: number): tf.Tensor2D;
}

/** Fresh draws from the project's seeded generator (reproducible from the seed, resumable from its state). */
export class RngDraws implements Draws {
  constructor(readonly rng: Rng = new Rng(0)) {}

  multinomial(_name: string, weights: tf.Tensor2D, numSamples: number, replacement: boolean): tf.Tensor2D {
    if (!replacement) return gumbelTopK(weights, numSamples, this.rng);
    return tf.tidy(() => {
      // Inverse CDF per sample: the index is the number of cumulative weights ≤ u·total.
      const [r, n] = weights.shape;
      const cdf = tf.cumsum(weights, 1);
      const total = tf.slice(cdf, [0, n - 1], [r, 1]);
      const u = tf.mul(this.rng.uniformTensor([r, numSamples]), total);
      const below = tf.lessEqual(tf.expandDims(cdf, 1), tf.expandDims(u, 2));
      const idx = tf.sum(tf.cast(below, 'int32'), 2);
      return tf.minimum(idx, tf.scalar(n - 1, 'int32')) as tf.Tensor2D;
    });
  }

  bernoulli(_name: string, shape: number[], p: number): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = this.rng.uniform() < p ? 1 : 0;
    return tf.tensor(d, shape, 'float32');
  }

  randint(_name: string, high: number, shape: number[]): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Int32Array(n);
    for (let i = 0; i < n; i++) d[i] = this.rng.int(0, high);
    return tf.tensor(d, shape, 'int32');
  }

  randomMask(_name: string, rows: number, n: number, numMasked: number): tf.Tensor2D {
    const d = new Uint8Array(rows * n);
    for (let r = 0; r < rows; r++) {
      const row = Array.from({ length: n }, (_, i) => (i >= n - numMasked ? 1 : 0));
      this.rng.shuffle(row);
      d.set(row, r * n);
    }
    return tf.tensor2d(d, [rows, n], 'bool');
  }
}

/**
 * Replays recorded draws (e.g. a fixture's `draw.*` tensors) by name, in place of fresh random numbers. Each name
 * may be recorded once (used for every call) or as `name.0`, `name.1`, … (one per call, in call order).
 */
export class ReplayDraws implements Draws {
  private readonly calls = new Map<string, number>();

  constructor(readonly recorded: Map<string, tf.Tensor>) {}

  /** The `draw.*` entries of a fixture's tensors, under their names without the prefix. */
  static fromTensors(tensors: Map<string, tf.Tensor>, prefix = 'draw.'): ReplayDraws {
    const m = new Map<string, tf.Tensor>();
    for (const [k, v] of tensors) if (k.startsWith(prefix)) m.set(k.slice(prefix.length), v);
    return new ReplayDraws(m);
  }

  private take(name: string, shape: number[]): tf.Tensor {
    const i = this.calls.get(name) ?? 0;
    this.calls.set(name, i + 1);
    const t = this.recorded.get(`${name}.${i}`) ?? this.recorded.get(name);
    if (!t) throw new DrawReplayError(name, `not recorded (have: ${[...this.recorded.keys()].join(', ') || 'none'})`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (t.size !== n) throw new DrawReplayError(name, `recorded shape [${t.shape}], the call draws [${shape}]`);
    return tf.reshape(t, shape);
  }

  multinomial(name: string, weights: tf.Tensor2D, numSamples: number, _replacement?: boolean): tf.Tensor2D {
    return tf.tidy(() => tf.cast(this.take(name, [weights.shape[0], numSamples]), 'int32')) as tf.Tensor2D;
  }

  bernoulli(name: string, shape: number[], _p?: number): tf.Tensor {
    return tf.tidy(() => tf.cast(this.take(name, shape), 'float32'));
  }

  randint(name: string, _high: number, shape: number[]): tf.Tensor {
    return tf.tidy(() => tf.cast(this.take(name, shape), 'int32'));
  }

  randomMask(name: string, rows: number, n: number, _numMasked?: number): tf.Tensor2D {
    return tf.tidy(() => tf.cast(this.take(name, [rows, n]), 'bool')) as tf.Tensor2D;
  }
}
