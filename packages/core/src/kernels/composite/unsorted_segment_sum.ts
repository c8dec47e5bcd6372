import * as tf from '@tensorflow/tfjs-core';

/**
 * UnsortedSegmentSum as a one-hot matrix product: tfjs-wasm has no kernel for it, and it is the gradient of
 * `gather` (token masking needs it to train).
 */
export function unsortedSegmentSumComposite(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const n = segmentIds.size;
    const rest = x.shape.slice(1);
    const flat = tf.reshape(x, [n, rest.reduce((a, b) => a * b, 1)]);
    const oneHot = tf.cast(tf.oneHot(tf.reshape(tf.cast(segmentIds, 'int32'), [n]), numSegments), x.dtype);
    return tf.reshape(tf.matMul(oneHot, flat, true, false), [numSegments, ...rest]);
  });
}
