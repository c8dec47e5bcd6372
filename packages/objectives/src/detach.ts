import * as tf from '@tensorflow/tfjs-core';

/**
 * `x.detach()`: a new tensor on the same data that the gradient tape does not connect to `x` (tfjs has no
 * stopGradient). Values computed from it — sampling weights, drawn indices — never carry a gradient, so integer
 * draws can feed `gather` inside `tf.variableGrads`. Tracked by the enclosing `tf.tidy` like any tensor.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  // As an Identity kernel does: one more reference on the backend data, a new tensor around it.
  (tf.backend() as unknown as { incRef(id: unknown): void }).incRef(x.dataId);
  return tf.engine().makeTensorFromDataId(x.dataId, x.shape, x.dtype) as T;
}
