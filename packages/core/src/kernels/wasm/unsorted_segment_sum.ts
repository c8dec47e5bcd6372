import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './heap.js';

/**
 * UnsortedSegmentSum on the wasm backend, summed straight from and into the backend's heap: tfjs-wasm has no
 * kernel for it, and it is the gradient of `gather` (token masking needs it to train). One pass over `x`, so
 * the cost is that of a copy; ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
export function unsortedSegmentSumWasm({ inputs, backend, attrs }: { inputs: tf.NamedTensorMap; backend: unknown; attrs: Record<string, unknown> }): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.Tensor; segmentIds: tf.Tensor };
  const numSegments = attrs.numSegments as number;
  const be = backend as WasmBackendLike;
  const n = segmentIds.size;
  const row = n === 0 ? 0 : x.size / n;
  const out = be.makeOutput([numSegments, ...x.shape.slice(segmentIds.rank)], x.dtype);
  // Views are taken after makeOutput: allocating may grow the heap and detach earlier views.
  const o = be.typedArrayFromHeap(out);
  const xs = be.typedArrayFromHeap(x);
  const ids = be.typedArrayFromHeap(segmentIds);
  o.fill(0);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * row;
    const dst = s * row;
    for (let c = 0; c < row; c++) o[dst + c] += xs[src + c];
  }
  return out;
}
