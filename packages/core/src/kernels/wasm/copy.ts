import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './heap.js';
import { replaceWasmKernel } from './replace.js';

/**
 * Transpose and GatherV2 on the wasm backend as copies on the heap. tfjs-wasm's gather and its transpose above
 * rank 4 index element by element: the patch embedding's 6-D transpose of a 32-clip demo batch took 20 ms, a
 * 4128-row gather 7 ms, together a quarter of a stage-2 step. Here axes that stay neighbours are merged first;
 * what is then at most 4-D goes to tfjs-wasm's fast kernels, the rest is copied in runs (≈ 1 ms for either).
 */
type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo;

const COPYABLE = new Set<tf.DataType>(['float32', 'int32', 'bool']);

/** How many Transpose / GatherV2 calls ran here, and how many went to tfjs-wasm's kernels (other dtypes, batched gathers, transposes that merge to 2–4-D). */
export const wasmCopyCounts = { transpose: 0, gather: 0, builtin: 0 };

/** Copies `len` elements; a loop beats creating a subarray for short runs. */
function copyRun(dst: tf.TypedArray, di: number, src: tf.TypedArray, si: number, len: number): void {
  if (len >= 64) dst.set(src.subarray(si, si + len), di);
  else for (let j = 0; j < len; j++) dst[di + j] = src[si + j];
}

/** `shape` and `perm` with size-1 axes dropped and axes that stay neighbours merged (so [B,N,H,D]→[B,H,N,D] is 4-D, [0,1,2] is 1-D). */
export function collapseTranspose(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const rank = new Map(keep.map((d, i) => [d, i]));
  const p0 = perm.filter((d) => shape[d] !== 1).map((d) => rank.get(d)!);
  const s0 = keep.map((d) => shape[d]);
  // groups of consecutive source axes that stay consecutive in the output
  const groups: number[][] = [];
  for (const d of p0) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] + 1 === d) g.push(d);
    else groups.push([d]);
  }
  const bySource = [...groups].sort((a, b) => a[0] - b[0]);
  const outShape = bySource.map((g) => g.reduce((a, d) => a * s0[d], 1));
  const index = new Map(bySource.map((g, i) => [g[0], i]));
  return { shape: outShape.length ? outShape : [1], perm: groups.length ? groups.map((g) => index.get(g[0])!) : [0] };
}

function transpose(args: KernelArgs, original: KernelFn): tf.TensorInfo {
  const { x } = args.inputs;
  if (!COPYABLE.has(x.dtype)) {
    wasmCopyCounts.builtin++;
    return original(args);
  }
  const be = args.backend as WasmBackendLike;
  const perm = args.attrs.perm as number[];
  const outShape = perm.map((d) => x.shape[d]);
  const n = outShape.reduce((a, b) => a * b, 1);
  const c = collapseTranspose(x.shape, perm);
  const r = c.shape.length;
  if (r > 1 && r <= 4 && n > 0) {
    // tfjs-wasm's 2-, 3- and 4-D kernels are fast; hand them the merged axes, which they do not merge themselves
    wasmCopyCounts.builtin++;
    const y = original({ ...args, inputs: { x: { ...x, shape: c.shape } }, attrs: { ...args.attrs, perm: c.perm } });
    return { ...y, shape: outShape };
  }
  wasmCopyCounts.transpose++;
  const out = be.makeOutput(outShape, x.dtype);
  if (n === 0) return out;
  const src = be.typedArrayFromHeap(x);
  const dst = be.typedArrayFromHeap(out);
  if (r === 1) {
    dst.set(src.subarray(0, n));
    return out;
  }
  const strides = new Array<number>(r);
  for (let d = r - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= c.shape[d];
  }
  const os = c.perm.map((d) => c.shape[d]);
  const ss = c.perm.map((d) => strides[d]);
  const last = os[r - 1];
  const lastStride = ss[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  let si = 0;
  for (let di = 0; di < n; di += last) {
    if (lastStride === 1) copyRun(dst, di, src, si, last);
    else for (let j = 0, k = si; j < last; j++, k += lastStride) dst[di + j] = src[k];
    // odometer over the outer output axes, keeping the source offset
    for (let d = r - 2; d >= 0; d--) {
      si += ss[d];
      if (++idx[d] < os[d]) break;
      si -= ss[d] * os[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** tfjs's own message for an index out of range, with the offending value (tfjs-wasm reads out of bounds). */
export class GatherIndexError extends RangeError {
  constructor(readonly index: number, readonly size: number) {
    super(`GatherV2: the index value ${index} is not in [0, ${size - 1}]`);
    this.name = 'GatherIndexError';
  }
}

function gather(args: KernelArgs, original: KernelFn): tf.TensorInfo {
  const { x, indices } = args.inputs;
  const batchDims = (args.attrs.batchDims as number | undefined) ?? 0;
  if (!COPYABLE.has(x.dtype) || indices.dtype !== 'int32' || batchDims !== 0) {
    wasmCopyCounts.builtin++;
    return original(args);
  }
  const be = args.backend as WasmBackendLike;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const size = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const ids = be.typedArrayFromHeap(indices);
  const k = ids.length;
  for (let i = 0; i < k; i++) if (ids[i] < 0 || ids[i] >= size) throw new GatherIndexError(ids[i], size);
  wasmCopyCounts.gather++;
  const out = be.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  if (outer * k * inner === 0) return out;
  // views after the allocation: growing the heap detaches earlier ones
  const src = be.typedArrayFromHeap(x);
  const dst = be.typedArrayFromHeap(out);
  const id = be.typedArrayFromHeap(indices);
  for (let o = 0, di = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < k; i++, di += inner) copyRun(dst, di, src, base + id[i] * inner, inner);
  }
  return out;
}

let installed = false;

/** Replaces tfjs-wasm's Transpose and GatherV2 (other dtypes and batched gathers keep tfjs's kernels). Runs once the backend has started. */
export function installWasmCopyKernels(): void {
  if (installed) return;
  for (const [name, fn] of [['Transpose', transpose], ['GatherV2', gather]] as const) {
    replaceWasmKernel<KernelFn>(name, (original) => (a) => fn(a, original));
  }
  installed = true;
}
