import * as tf from '@tensorflow/tfjs-core';
import { L2Normalize, type L2NormalizeAttrs } from '../kernels/kernel_names.js';

/**
 * y = x / max(n, eps), n = ‖x‖₂: where n > eps, dx = (dy − y·Σ dy·y) / n; where the norm is clamped to eps, y is
 * linear in x and dx = dy / eps (PyTorch's F.normalize gives the same, since its clamp_min passes no gradient).
 */
export const l2NormalizeGradConfig: tf.GradConfig = {
  kernelName: L2Normalize,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { axis, eps } = attrs as unknown as L2NormalizeAttrs;
    return {
      x: () =>
        tf.tidy(() => {
          const g = dy as tf.Tensor;
          const n = tf.sqrt(tf.sum(tf.square(x), axis, true));
          const y = tf.div(x, n);
          const unclamped = tf.div(tf.sub(g, tf.mul(y, tf.sum(tf.mul(g, y), axis, true))), n);
          return eps > 0 ? tf.where(tf.greater(tf.broadcastTo(n, x.shape), eps), unclamped, tf.div(g, eps)) : unclamped;
        }),
    };
  },
};
