import * as tf from '@tensorflow/tfjs-core';
import { Module, type Rng, truncNormal } from '@iv2/core';

/**
 * torch.nn.Embedding: key `weight` `[num, dim]`. With `paddingIdx`, lookups of that row pass no gradient to it
 * (torch's padding_idx), while the row's value is still read in the forward pass.
 */
export class Embedding extends Module {
  readonly weight: tf.Variable;

  constructor(
    readonly num: number,
    readonly dim: number,
    readonly paddingIdx: number | null,
    rng: Rng,
    std = 0.02,
  ) {
    super();
    this.weight = this.addParameter('weight', truncNormal(rng, [num, dim], std));
  }

  /** Rows of `weight` for integer ids of any shape: `[...ids.shape, dim]`. */
  forward(ids: tf.Tensor): tf.Tensor {
    return embeddingLookup(this.weight, ids, this.paddingIdx);
  }
}

/** A flat gather (tfjs-wasm mis-handles batched gathers) whose gradient skips `paddingIdx` lookups. */
export function embeddingLookup(weight: tf.Tensor, ids: tf.Tensor, paddingIdx: number | null): tf.Tensor {
  return tf.tidy(() => {
    const flat = tf.reshape(ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32'), [ids.size]) as tf.Tensor1D;
    const [num, dim] = weight.shape;
    const outShape = [...ids.shape, dim];
    if (paddingIdx === null) return tf.reshape(tf.gather(weight, flat), outShape);
    // `save` keeps the ids alive for the backward pass (this tidy would dispose them otherwise).
    const lookup = tf.customGrad(((w: tf.Tensor, save: tf.GradSaveFunc) => {
      save([flat]);
      return {
        value: tf.gather(w, flat),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const idx = saved[0] as tf.Tensor1D;
          const keep = tf.cast(tf.notEqual(idx, tf.scalar(paddingIdx, 'int32')), 'float32');
          return [tf.unsortedSegmentSum(tf.mul(dy, tf.expandDims(keep, 1)), idx, num)];
        },
      };
    }) as never) as (w: tf.Tensor) => tf.Tensor;
    return tf.reshape(lookup(weight), outShape);
  });
}
