import * as tf from '@tensorflow/tfjs-core';

/**
 * Replaces the wasm backend's kernel `name` with `make(original)`, tfjs's own kernel being passed in as the
 * fallback. Must run after the backend has started: tfjs's kernels bind their C entry points at setup. Does
 * nothing where tfjs has no kernel of that name.
 */
export function replaceWasmKernel<F>(name: string, make: (original: F) => F): void {
  const cfg = tf.getKernel(name, 'wasm');
  if (!cfg) return;
  const original = cfg.kernelFunc as unknown as F;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(original) as never });
}
