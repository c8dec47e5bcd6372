import * as tf from '@tensorflow/tfjs-core';
import { registerWasmAttention } from './attention.js';
import { conv2dBackpropFilterWasm } from './conv2d_backprop_filter.js';
import { registerWasmRowKernels } from './rows.js';
import { unsortedSegmentSumWasm } from './unsorted_segment_sum.js';

/**
 * Kernels tfjs-wasm lacks and training needs: the gradient of `gather` (UnsortedSegmentSum) and the filter
 * gradient of `conv2d` (Conv2DBackpropFilter). tfjs-wasm also lacks Einsum and the depthwise-conv gradients;
 * no iv2 op or gradient uses them. Attention, Linear, the norms and GELU run @iv2/native's kernels when the addon
 * is active (attention.ts, rows.ts); BatchMatMul and _FusedMatMul are replaced once the backend has started (matmul.ts).
 */
export function registerWasmKernels(): void {
  registerWasmAttention();
  registerWasmRowKernels();
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm as never });
  }
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ((a: Parameters<typeof conv2dBackpropFilterWasm>[0]) => tf.tidy(() => conv2dBackpropFilterWasm(a))) as never,
    });
  }
}
