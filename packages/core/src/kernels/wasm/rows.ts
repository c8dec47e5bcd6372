import * as tf from '@tensorflow/tfjs-core';
import { geluComposite } from '../composite/gelu.js';
import { layerNormComposite, rmsNormComposite } from '../composite/norms.js';
import { linearComposite } from '../composite/linear.js';
import { addonHeap, heapOffset, type WasmBackendLike } from './heap.js';
import { wasmMatMulCounts } from './matmul.js';
import { activeNative } from './native.js';

/**
 * IV2Linear, IV2RmsNorm, IV2LayerNorm and IV2Gelu on the wasm backend. With @iv2/native active: one pass each on
 * the heap, on all cores (the composites run 3–6 tfjs-wasm kernels per op, one thread). Without it: Linear is one
 * XNNPACK product with the bias fused (tfjs's _FusedMatMul), the others are the composites.
 */
type KernelArgs = { inputs: tf.NamedTensorMap; backend: unknown; attrs: Record<string, unknown> };

const f32 = (...ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32');
const last = (t: tf.TensorInfo) => t.shape[t.shape.length - 1];
const size = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

function linearWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.Tensor {
  const { x, weight, bias } = inputs;
  const hasBias = Boolean(attrs.hasBias);
  const nb = activeNative();
  const [inDim, outDim] = weight.shape;
  const ok = f32(x, weight, bias) && weight.rank === 2 && last(x) === inDim && (!hasBias || (bias.rank === 1 && bias.size === outDim));
  if (!ok) return tf.tidy(() => linearComposite(x, weight, hasBias ? bias : null));
  if (!nb) {
    return tf.tidy(() => {
      const y = tf.fused.matMul({ a: tf.reshape(x, [-1, inDim]), b: weight, bias: hasBias ? bias : undefined });
      return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
    });
  }
  const be = backend as WasmBackendLike;
  const rows = x.size / inDim;
  const out = be.makeOutput([...x.shape.slice(0, -1), outDim], 'float32');
  if (rows > 0 && outDim > 0) {
    nb.gemm(addonHeap(be), false, false, rows, outDim, inDim, new Float64Array([heapOffset(be, x), heapOffset(be, weight), heapOffset(be, out)]),
      hasBias ? heapOffset(be, bias) : -1, hasBias ? outDim : 0, 0, 0);
    wasmMatMulCounts.native++;
  }
  return out;
}

function normWasm(kind: 0 | 1) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.Tensor => {
    const { x, weight, bias } = inputs;
    const eps = attrs.eps as number;
    const nb = activeNative();
    const cols = x.rank ? last(x) : 0;
    const ok = nb && f32(x, weight) && x.rank >= 1 && size(weight) === cols && weight.shape.every((d, i, s) => i === s.length - 1 || d === 1) &&
      (kind === 0 || (f32(bias) && size(bias) === cols && bias.shape.every((d, i, s) => i === s.length - 1 || d === 1)));
    if (!ok) return tf.tidy(() => (kind === 0 ? rmsNormComposite(x, weight, eps) : layerNormComposite(x, weight, bias, eps)));
    const be = backend as WasmBackendLike;
    const out = be.makeOutput(x.shape, 'float32');
    if (x.size > 0) {
      nb.norm(addonHeap(be), kind, heapOffset(be, x), heapOffset(be, weight), kind === 1 ? heapOffset(be, bias) : -1, heapOffset(be, out), x.size / cols, cols, eps);
    }
    return out;
  };
}

function geluWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.Tensor {
  const { x } = inputs;
  const approximate = attrs.approximate as 'none' | 'tanh';
  const nb = activeNative();
  if (!nb || !f32(x)) return tf.tidy(() => geluComposite(x, approximate));
  const be = backend as WasmBackendLike;
  const out = be.makeOutput(x.shape, 'float32');
  if (x.size > 0) nb.gelu(addonHeap(be), heapOffset(be, x), heapOffset(be, out), x.size, approximate === 'tanh');
  return out;
}

export function registerWasmRowKernels(): void {
  const kernels: Array<[string, (a: KernelArgs) => tf.TensorInfo | tf.Tensor]> = [
    ['IV2Linear', linearWasm], ['IV2RmsNorm', normWasm(0)], ['IV2LayerNorm', normWasm(1)], ['IV2Gelu', geluWasm],
  ];
  for (const [kernelName, fn] of kernels) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as never });
  }
}
