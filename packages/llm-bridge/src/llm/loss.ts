// LlamaForCausalLM's loss: logits[t] against labels[t + 1], cross-entropy averaged over targets that are not
// IGNORE_INDEX (−100), as torch.nn.CrossEntropyLoss(reduction='mean') does.
import * as tf from '@tensorflow/tfjs-core';
import { DecoderInputError } from './errors.js';

export const IGNORE_INDEX = -100;

/** Scalar mean cross-entropy of the shifted logits `[B, N, V]` against int labels `[B, N]`. */
export function causalLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  const [b, n, v] = logits.shape;
  if (labels.shape[0] !== b || labels.shape[1] !== n) throw new DecoderInputError(`shape [${labels.shape}] should be [${b}, ${n}]`, 'labels');
  return tf.tidy(() => {
    const lg = tf.reshape(tf.slice(logits, [0, 0, 0], [b, n - 1, v]), [b * (n - 1), v]);
    const lb = tf.reshape(tf.slice(tf.cast(labels, 'int32'), [0, 1], [b, n - 1]), [-1]);
    const valid = tf.cast(tf.notEqual(lb, IGNORE_INDEX), 'float32');
    const safe = tf.mul(lb, tf.cast(valid, 'int32'));
    // The picked logit by a flat gather (its gradient is a segment sum), not a [tokens, vocab] one-hot.
    const flat = tf.add(tf.mul(tf.range(0, b * (n - 1), 1, 'int32'), tf.scalar(v, 'int32')), safe);
    // log-softmax rather than logSumExp − picked: the same value, and its gradient is softmax-shaped, while
    // logSumExp's goes through max's (an Equal over [tokens, vocab], slow on wasm).
    const nll = tf.neg(tf.gather(tf.reshape(tf.logSoftmax(lg, 1), [-1]), flat));
    return tf.div(tf.sum(tf.mul(nll, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}
