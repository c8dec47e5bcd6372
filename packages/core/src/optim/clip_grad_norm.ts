import * as tf from '@tensorflow/tfjs-core';

type Clipped = { grads: Map<string, tf.Tensor>; norm: number };

function totalNorm(grads: Map<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

const coefficient = (norm: number, maxNorm: number) => Math.min(1, maxNorm / (norm + 1e-6));

function scale(grads: Map<string, tf.Tensor>, coef: number): Map<string, tf.Tensor> {
  if (coef === 1) return grads;
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) {
    out.set(k, tf.mul(g, coef));
    g.dispose();
  }
  return out;
}

/**
 * torch.nn.utils.clip_grad_norm_ (L2): scales every gradient by min(1, maxNorm / (total + 1e-6)) and returns the
 * total norm before clipping. The scaled gradients are new tensors; the inputs are disposed.
 */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): Clipped {
  const total = totalNorm(grads);
  const norm = total.dataSync()[0];
  total.dispose();
  return { grads: scale(grads, coefficient(norm, maxNorm)), norm };
}

/** `clipGradNorm` with the norm read asynchronously: WebGPU in Node cannot read tensors synchronously. */
export async function clipGradNormAsync(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<Clipped> {
  const { coef, norm } = await clipCoefficient(grads, maxNorm);
  return { grads: scale(grads, coef), norm };
}

/**
 * What `clipGradNorm` multiplies by, without multiplying: min(1, maxNorm / (total + 1e-6)) and the total norm.
 * `AdamW.apply(grads, coef)` folds it into its update (the same float32 products, one kernel fewer per tensor).
 */
export async function clipCoefficient(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<{ coef: number; norm: number }> {
  const total = totalNorm(grads);
  const norm = (await total.data())[0];
  total.dispose();
  return { coef: coefficient(norm, maxNorm), norm };
}
