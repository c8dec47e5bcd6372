import * as tf from '@tensorflow/tfjs-core';
import { addonHeap, broadcastStrides, heapOffset, type WasmBackendLike } from './heap.js';
import { activeNative, type NativeBinding } from './native.js';
import { replaceWasmKernel } from './replace.js';

/**
 * tfjs-wasm's element-wise kernels, run by @iv2/native on all cores when it is active: arithmetic with
 * broadcasting, unary math and sums/means over a contiguous block of axes. tfjs-wasm runs them on one thread and
 * indexes broadcast operands element by element; in a training step (norm and GELU gradients, AdamW over every
 * parameter) they took as long as all matrix products. Other dtypes, shapes and an inactive addon run tfjs's kernel.
 */
type KernelArgs = { inputs: Record<string, tf.TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo;

const BINARY: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 };
const UNARY: Record<string, number> = { Exp: 0, Erf: 1, Square: 2, Sqrt: 3, Rsqrt: 4, Neg: 5, Abs: 6, Reciprocal: 7 };
const REDUCE: Record<string, number> = { Sum: 0, Mean: 1 };

/** How many element-wise kernels ran in the addon and how many on tfjs-wasm (float32 vs other dtypes, shapes). */
export const wasmElementwiseCounts = { native: 0, builtin: 0 };

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

/** The addon when it is active and has the element-wise entry points (an older build has not). */
function native(): NativeBinding | null {
  const nb = activeNative();
  return nb && typeof nb.binary === 'function' ? nb : null;
}

/**
 * Output shape and operand strides with size-1 axes dropped and adjacent axes merged where both operands step
 * through them as one (a [1025, 768] · [1025, 1] product stays 2-D, a same-shape one becomes 1-D).
 */
export function collapseBroadcast(aShape: number[], bShape: number[], out: number[]): { shape: number[]; sa: number[]; sb: number[] } {
  const fa = broadcastStrides(aShape, out);
  const fb = broadcastStrides(bShape, out);
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < out.length; d++) {
    if (out[d] === 1) continue;
    const k = shape.length - 1;
    if (k >= 0 && sa[k] === fa[d] * out[d] && sb[k] === fb[d] * out[d]) {
      shape[k] *= out[d];
      sa[k] = fa[d];
      sb[k] = fb[d];
    } else {
      shape.push(out[d]);
      sa.push(fa[d]);
      sb.push(fb[d]);
    }
  }
  if (shape.length === 0) return { shape: [1], sa: [0], sb: [0] };
  return { shape, sa, sb };
}

function binary(name: string, original: KernelFn): KernelFn {
  const op = BINARY[name];
  return (args) => {
    const { a, b } = args.inputs;
    const nb = native();
    if (!nb || !a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') {
      wasmElementwiseCounts.builtin++;
      return original(args);
    }
    const be = args.backend as WasmBackendLike;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = be.makeOutput(outShape, 'float32');
    if (size(outShape) > 0) {
      const c = collapseBroadcast(a.shape, b.shape, outShape);
      nb.binary(addonHeap(be), op, heapOffset(be, a), heapOffset(be, b), heapOffset(be, out), new Float64Array(c.shape),
        new Float64Array(c.sa), new Float64Array(c.sb), size(a.shape), size(b.shape));
    }
    wasmElementwiseCounts.native++;
    return out;
  };
}

function unary(name: string, original: KernelFn): KernelFn {
  const op = UNARY[name];
  return (args) => {
    const { x } = args.inputs;
    const nb = native();
    if (!nb || !x || x.dtype !== 'float32') {
      wasmElementwiseCounts.builtin++;
      return original(args);
    }
    const be = args.backend as WasmBackendLike;
    const out = be.makeOutput(x.shape, 'float32');
    const n = size(x.shape);
    if (n > 0) nb.unary(addonHeap(be), op, heapOffset(be, x), heapOffset(be, out), n);
    wasmElementwiseCounts.native++;
    return out;
  };
}

function reduce(name: string, original: KernelFn): KernelFn {
  const op = REDUCE[name];
  return (args) => {
    const { x } = args.inputs;
    const nb = native();
    if (!nb || !x || x.dtype !== 'float32') {
      wasmElementwiseCounts.builtin++;
      return original(args);
    }
    const axes = [...new Set(tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape))].sort((p, q) => p - q);
    // A contiguous block of axes reads as x [outer, red, inner]; anything else needs tfjs's transpose.
    if (axes.length === 0 || axes.some((ax, i) => ax !== axes[0] + i) || axes.some((ax) => x.shape[ax] === 0)) {
      wasmElementwiseCounts.builtin++;
      return original(args);
    }
    const first = axes[0];
    const lastAxis = axes[axes.length - 1];
    const outer = size(x.shape.slice(0, first));
    const red = size(x.shape.slice(first, lastAxis + 1));
    const inner = size(x.shape.slice(lastAxis + 1));
    let outShape = tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[0];
    if (args.attrs.keepDims) outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
    const be = args.backend as WasmBackendLike;
    const out = be.makeOutput(outShape, 'float32');
    if (outer * inner > 0) nb.reduce(addonHeap(be), op, heapOffset(be, x), heapOffset(be, out), outer, red, inner);
    wasmElementwiseCounts.native++;
    return out;
  };
}

/**
 * Identity shares its input's data (as tfjs's cpu backend does; nothing writes a tensor's data in place) instead of
 * tfjs-wasm's copy: the training step ran ~200 of them, one per saved activation.
 */
function identity(original: KernelFn): KernelFn {
  return (args) => {
    const { x } = args.inputs;
    if (!native() || !x || x.dtype === 'string') {
      wasmElementwiseCounts.builtin++;
      return original(args);
    }
    (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
    wasmElementwiseCounts.native++;
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

let installed = false;

/**
 * Wraps the wasm backend's element-wise kernels (tfjs's own stay as the fallback). Must run after the backend has
 * started: tfjs's kernels bind their C entry points at setup.
 */
export function installWasmElementwise(): void {
  if (installed) return;
  const wrap: Array<[Record<string, number>, (name: string, original: KernelFn) => KernelFn]> = [
    [BINARY, binary], [UNARY, unary], [REDUCE, reduce], [{ Identity: 0 }, (_, original) => identity(original)],
  ];
  for (const [names, make] of wrap) {
    for (const name of Object.keys(names)) replaceWasmKernel<KernelFn>(name, (original) => make(name, original));
  }
  installed = true;
}
