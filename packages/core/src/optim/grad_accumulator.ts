import * as tf from '@tensorflow/tfjs-core';

/** Sums gradients over micro-batches and hands back their mean every `steps` calls. */
export class GradAccumulator {
  private sum = new Map<string, tf.Tensor>();
  private count = 0;

  constructor(readonly steps: number) {}

  /** Adds (and disposes) `grads`; returns the averaged gradients when `steps` micro-batches are in, else null. */
  add(grads: Map<string, tf.Tensor>): Map<string, tf.Tensor> | null {
    for (const [k, g] of grads) {
      const prev = this.sum.get(k);
      this.sum.set(k, prev ? tf.add(prev, g) : tf.clone(g));
      prev?.dispose();
      g.dispose();
    }
    this.count += 1;
    if (this.count < this.steps) return null;
    const out = new Map<string, tf.Tensor>();
    for (const [k, s] of this.sum) {
      out.set(k, tf.div(s, this.count));
      s.dispose();
    }
    this.sum.clear();
    this.count = 0;
    return out;
  }
}
