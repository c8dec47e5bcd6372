import * as tf from '@tensorflow/tfjs-core';
import { adamwUpdateLoop } from './composite/adamw_update.js';
import { AdamWUpdate, type AdamWUpdateAttrs } from './kernel_names.js';
import type { WasmBackendLike } from './wasm/heap.js';

type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: unknown };

interface CpuBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** cpu: the loop over the backend's own arrays, outputs as new arrays. */
function adamwCpu({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const be = backend as CpuBackendLike;
  const { param, grad, m, v } = inputs;
  const n = tf.util.sizeFromShape(param.shape);
  const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const read = (t: tf.TensorInfo) => be.readSync(t.dataId) as Float32Array;
  adamwUpdateLoop(read(param), read(grad), read(m), read(v), out[0], out[1], out[2], attrs as AdamWUpdateAttrs);
  return out.map((o) => be.makeTensorInfo(param.shape, 'float32', o));
}

/** wasm: the loop on the heap, into three new outputs (never in place: XNNPACK caches packed weights by tensor). */
function adamwWasm({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const be = backend as WasmBackendLike;
  const { param, grad, m, v } = inputs;
  const outs = [0, 1, 2].map(() => be.makeOutput(param.shape, 'float32'));
  // views after every allocation: growing the heap detaches earlier ones
  const view = (t: tf.TensorInfo) => be.typedArrayFromHeap(t) as Float32Array;
  adamwUpdateLoop(view(param), view(grad), view(m), view(v), view(outs[0]), view(outs[1]), view(outs[2]), attrs as AdamWUpdateAttrs);
  return outs;
}

/** Registers the loop kernels for cpu and wasm (the composite serves the other backends). */
export function registerAdamWKernels(): void {
  for (const [backendName, fn] of [['cpu', adamwCpu], ['wasm', adamwWasm]] as const) {
    if (!tf.getKernel(AdamWUpdate, backendName)) tf.registerKernel({ kernelName: AdamWUpdate, backendName, kernelFunc: fn as never });
  }
}
