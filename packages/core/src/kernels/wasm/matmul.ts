import * as tf from '@tensorflow/tfjs-core';
import { addonHeap, batchPairs, dropView, heapOffset, heapView, type WasmBackendLike } from './heap.js';
import { activeNative } from './native.js';
import { replaceWasmKernel } from './replace.js';

/**
 * BatchMatMul and _FusedMatMul on the wasm backend. tfjs-wasm 4.22 sends a product to XNNPACK only when neither
 * operand is transposed and both have batch size 1; anything else (attention's q·kᵀ and batched p·v, both
 * gradients of a linear layer) runs a scalar loop 10–25× slower. These kernels route every product to
 * - @iv2/native's BLAS GEMM on the heap when it is active (any transpose and batch shape, no copies), else
 * - XNNPACK: a transposed operand is transposed once (a copy, linear in its size), a batch whose right operand is
 *   shared becomes one tall product, and other batches run matrix by matrix on views of the heap (no copies).
 * `wasmMatMulCounts` says which path each product took, so a profile can show that no scalar loop ran.
 */
export const wasmMatMulCounts = { native: 0, xnnpack: 0, builtin: 0 };

type KernelArgs = { inputs: Record<string, tf.TensorInfo | undefined>; backend: unknown; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo;

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 };

interface Dims {
  m: number;
  n: number;
  k: number;
  batchA: number[];
  batchB: number[];
  batch: number[];
}

function dims(a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean): Dims {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  return {
    m: ta ? a.shape[ra - 1] : a.shape[ra - 2],
    k: ta ? a.shape[ra - 2] : a.shape[ra - 1],
    n: tb ? b.shape[rb - 2] : b.shape[rb - 1],
    batchA,
    batchB,
    batch: tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB),
  };
}

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

/** c = op(a)·op(b) (+ bias, activation) with the addon, straight on the heap. */
function nativeMatMul(be: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean, outShape: number[],
  bias: tf.TensorInfo | null, act: number, alpha: number): tf.TensorInfo {
  const nb = activeNative()!;
  const { m, n, k, batchA, batchB, batch } = dims(a, b, ta, tb);
  const out = be.makeOutput(outShape, 'float32');
  const pairs = batchPairs(batchA, batchB, batch);
  const total = pairs.a.length;
  const offs = new Float64Array(3 * total);
  const [oa, ob, oc] = [heapOffset(be, a), heapOffset(be, b), heapOffset(be, out)];
  for (let i = 0; i < total; i++) {
    offs[3 * i] = oa + pairs.a[i] * m * k * 4;
    offs[3 * i + 1] = ob + pairs.b[i] * k * n * 4;
    offs[3 * i + 2] = oc + i * m * n * 4;
  }
  nb.gemm(addonHeap(be), ta, tb, m, n, k, offs, bias ? heapOffset(be, bias) : -1, bias ? bias.shape.reduce((x, y) => x * y, 1) : 0, act, alpha);
  wasmMatMulCounts.native += total;
  return out;
}

let xnnCall: ((...a: unknown[]) => void) | null = null;

/** tfjs-wasm's own C entry point: with untransposed, batch-1 shapes it runs XNNPACK; `out` may be a view. */
export function xnn(be: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, out: tf.TensorInfo, m: number, k: number, n: number): void {
  xnnCall ??= be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  const shape = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);
  const id = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).id;
  xnnCall(id(a), shape([1, m, k]), 3, id(b), shape([1, k, n]), 3, 0, 0, id(out));
  wasmMatMulCounts.xnnpack++;
}

export function transposeLast2(be: WasmBackendLike, x: tf.TensorInfo): tf.TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r - 2).keys(), r - 1, r - 2];
  const t = tf.getKernel('Transpose', 'wasm')!;
  return t.kernelFunc({ inputs: { x }, backend: be as never, attrs: { perm } as never }) as tf.TensorInfo;
}

/** c = op(a)·op(b) on XNNPACK only. */
function xnnMatMul(be: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean, outShape: number[]): tf.TensorInfo {
  const { m, n, k, batchA, batchB, batch } = dims(a, b, ta, tb);
  const a2 = ta ? transposeLast2(be, a) : a;
  const b2 = tb ? transposeLast2(be, b) : b;
  const out = be.makeOutput(outShape, 'float32');
  const total = size(batch);
  if (size(batchB) === 1 && size(batchA) === total) {
    xnn(be, a2, b2, out, total * m, k, n); // one tall product: b is packed once (and cached while b lives)
  } else {
    const pairs = batchPairs(batchA, batchB, batch);
    const [oa, ob, oc] = [heapOffset(be, a2), heapOffset(be, b2), heapOffset(be, out)];
    for (let i = 0; i < total; i++) {
      const va = heapView(be, oa + pairs.a[i] * m * k * 4, [m, k]);
      const vb = heapView(be, ob + pairs.b[i] * k * n * 4, [k, n]);
      const vc = heapView(be, oc + i * m * n * 4, [m, n]);
      xnn(be, va, vb, vc, m, k, n);
      [va, vb, vc].forEach((v) => dropView(be, v));
    }
  }
  if (a2 !== a) be.disposeData(a2.dataId);
  if (b2 !== b) be.disposeData(b2.dataId);
  return out;
}

function usable(...ts: tf.TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32' && t.shape.length >= 2) && ts.every((t) => size(t.shape) > 0);
}

function batchMatMul(original: KernelFn): KernelFn {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const ta = Boolean(args.attrs.transposeA);
    const tb = Boolean(args.attrs.transposeB);
    const be = args.backend as WasmBackendLike;
    if (!usable(a, b) || a.shape[a.shape.length - (ta ? 2 : 1)] !== b.shape[b.shape.length - (tb ? 1 : 2)]) {
      wasmMatMulCounts.builtin++;
      return original(args); // tfjs's own checks and messages
    }
    const d = dims(a, b, ta, tb);
    const outShape = [...d.batch, d.m, d.n];
    if (activeNative()) return nativeMatMul(be, a, b, ta, tb, outShape, null, 0, 0);
    return xnnMatMul(be, a, b, ta, tb, outShape);
  };
}

/** tfjs's fused matmul (rank-3 a and b, rank-1 bias, an activation). */
function fusedMatMul(original: KernelFn): KernelFn {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const ta = Boolean(args.attrs.transposeA);
    const tb = Boolean(args.attrs.transposeB);
    const be = args.backend as WasmBackendLike;
    const act = ACTIVATIONS[(args.attrs.activation as string) ?? 'linear'];
    if (!a || !b || !usable(a, b)) {
      wasmMatMulCounts.builtin++;
      return original(args);
    }
    const d = dims(a, b, ta, tb);
    const biasSize = bias ? size(bias.shape) : 0;
    if (activeNative() && act !== undefined && !preluActivationWeights && (!bias || (bias.shape.length === 1 && (biasSize === 1 || biasSize === d.n)))) {
      return nativeMatMul(be, a, b, ta, tb, [...d.batch, d.m, d.n], bias ?? null, act, Number(args.attrs.leakyreluAlpha ?? 0.2));
    }
    const biasFits = !bias || (bias.shape.length === 1 && biasSize === d.n);
    if (!ta && !tb && size(d.batch) === 1 && biasFits) {
      wasmMatMulCounts.xnnpack++; // tfjs's kernel: XNNPACK with bias and activation fused
      return original(args);
    }
    // tfjs-wasm's scalar loop (transposes, batches) also indexes a rank-1 bias wrongly past the first row, so
    // here the product goes to XNNPACK and bias and activation run as tfjs-wasm kernels.
    let y = xnnMatMul(be, a, b, ta, tb, [...d.batch, d.m, d.n]);
    const step = (name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}) => {
      const r = tf.getKernel(name, 'wasm')!.kernelFunc({ inputs: inputs as never, backend: be as never, attrs: attrs as never }) as tf.TensorInfo;
      be.disposeData(y.dataId);
      y = r;
    };
    if (bias) step('Add', { a: y, b: bias });
    const activation = (args.attrs.activation as string) ?? 'linear';
    if (activation === 'prelu') step('Prelu', { x: y, alpha: preluActivationWeights! });
    else if (activation === 'leakyrelu') step('LeakyRelu', { x: y }, { alpha: Number(args.attrs.leakyreluAlpha ?? 0.2) });
    else if (activation !== 'linear') step({ relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid' }[activation] ?? 'Identity', { x: y });
    return y;
  };
}

let installed = false;

/**
 * Replaces the wasm backend's BatchMatMul and _FusedMatMul with the routing kernels above, keeping tfjs's own as
 * the fallback. Must run after the backend has started: tfjs's kernels bind their C entry points at setup.
 */
export function installWasmMatMul(): void {
  if (installed) return;
  for (const [name, wrap] of [['BatchMatMul', batchMatMul], ['_FusedMatMul', fusedMatMul]] as const) replaceWasmKernel<KernelFn>(name, wrap);
  installed = true;
}
