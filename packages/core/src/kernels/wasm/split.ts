import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './heap.js';
import { replaceWasmKernel } from './replace.js';

/**
 * SplitV on the wasm backend as one row-block copy per output on the heap. tfjs-wasm runs a strided Slice kernel
 * per output; splitting attention's fused qkv projection ([B, N, 3C] along C) took about a tenth of a B/14 forward
 * that way once the matmuls were fast.
 */
function splitV({ inputs, backend, attrs }: { inputs: tf.NamedTensorMap; backend: unknown; attrs: Record<string, unknown> }): tf.TensorInfo[] {
  const { x } = inputs;
  const be = backend as WasmBackendLike;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number[] | number, axis) as number[];
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const row = x.shape[axis] * inner;
  const outs = sizes.map((s) => be.makeOutput([...x.shape.slice(0, axis), s, ...x.shape.slice(axis + 1)], x.dtype));
  // Views after every allocation: growing the heap detaches earlier ones.
  const src = be.typedArrayFromHeap(x);
  let off = 0;
  sizes.forEach((s, i) => {
    const dst = be.typedArrayFromHeap(outs[i]);
    const w = s * inner;
    if (outer === 1) dst.set(src.subarray(off, off + w));
    else for (let r = 0; r < outer; r++) dst.set(src.subarray(r * row + off, r * row + off + w), r * w);
    off += w;
  });
  return outs;
}

let installed = false;

/** Replaces tfjs-wasm's SplitV (string tensors keep tfjs's kernel). Runs once the backend has started. */
export function installWasmSplit(): void {
  if (installed) return;
  type SplitFn = (args: { inputs: tf.NamedTensorMap }) => tf.TensorInfo | tf.TensorInfo[];
  replaceWasmKernel<SplitFn>('SplitV', (original) => (args) => (args.inputs.x.dtype === 'string' ? original(args) : splitV(args as never)));
  installed = true;
}
