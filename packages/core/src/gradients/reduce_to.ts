import * as tf from '@tensorflow/tfjs-core';

/** Sums a broadcast gradient back to the shape of the input it came from. */
export function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const lead = g.rank - shape.length;
    let r = lead > 0 ? tf.sum(g, [...Array(lead).keys()]) : g;
    const axes = shape.map((d, i) => (d === 1 && r.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
    if (axes.length) r = tf.sum(r, axes, true);
    return tf.reshape(r, shape);
  });
}
