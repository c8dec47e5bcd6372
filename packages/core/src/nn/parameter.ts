import type * as tf from '@tensorflow/tfjs-core';

/** A trainable tensor under its official state-dict name (`blocks.0.attn.qkv.weight`). */
export interface NamedParameter {
  name: string;
  variable: tf.Variable;
}
