import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@iv2/core';

/** The parts of tfjs-core's Engine used here (public on the class, absent from the exported typings). */
interface Engine {
  state: { activeTape: unknown[] | null };
  isTapeOn(): boolean;
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: tf.Tensor[] };
}

const engine = () => tf.engine() as unknown as Engine;

/** Whether a gradient tape is recording (inside `tf.grads` / `tf.variableGrads`, outside a kernel). */
export function recordingGradients(): boolean {
  return engine().isTapeOn();
}

/**
 * Activation checkpointing (`torch.utils.checkpoint`): runs `fn(x)` without keeping its activations and recomputes
 * it during backward, with `rng` set back to its state at the forward so that random draws repeat. `vars` are the
 * variables `fn` reads; their gradients flow as if `fn` had been taped.
 */
export function checkpoint(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, vars: tf.Variable[], rng?: Rng): tf.Tensor {
  const rngState = rng?.getState();
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.at(-1) as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor;
    const value = fn(input); // a kernel scope: nothing is taped, intermediates are freed
    save([input]);
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const e = engine();
        // A nested gradient computation replaces and then clears the engine's tape; the outer backward is still
        // walking its own copy, but disposes the saved tensors of `activeTape` at its end: put it back.
        const tape = e.state.activeTape;
        const now = rng?.getState();
        if (rngState) rng!.setState(rngState);
        try {
          const xs = [saved[0], ...vars];
          const { value: y, grads } = e.gradients(() => fn(saved[0]), xs, dy as tf.Tensor, true);
          y.dispose();
          return xs.map((t, i) => grads[i] ?? tf.zerosLike(t));
        } finally {
          if (now) rng!.setState(now);
          e.state.activeTape = tape;
        }
      });
    return { value, gradFunc };
  });
  // A named scope, so that profiles list the recomputed kernels and not the checkpoint as one more kernel.
  return tf.tidy('checkpoint__op', () => op(x, ...vars));
}
