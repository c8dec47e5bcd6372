import * as tf from '@tensorflow/tfjs-core';
import { attentionComposite } from '../composite/attention.js';
import { attentionGradComposite } from '../composite/attention_grad.js';
import type { AttentionGradOutput } from '../kernel_names.js';
import { addonHeap, broadcastStrides, dropView, heapBuffer, heapOffset, heapView, type WasmBackendLike } from './heap.js';
import { transposeLast2, xnn } from './matmul.js';
import { activeNative } from './native.js';

/**
 * IV2Attention / IV2AttentionGrad on the wasm backend: @iv2/native's fused kernels when the addon is active (no
 * N×N scores in memory, all cores). Without it forward and backward run head by head on XNNPACK (the scores of one
 * head in memory at a time, not B·H of them); the mask's gradient is the composite, whose matmuls reach XNNPACK
 * through the wasm BatchMatMul kernel (matmul.ts).
 */
type KernelArgs = { inputs: tf.NamedTensorMap; backend: unknown; attrs: Record<string, unknown> };

interface Plan {
  B: number;
  H: number;
  Nq: number;
  Nk: number;
  D: number;
  Dv: number;
  /** −1 when the mask is a finite scalar (softmax ignores a constant shift). */
  maskOffset: number;
  strides: Float64Array;
  maskSize: number;
  /** The mask's last two axes (its (b, h) slice, contiguous). */
  maskTail: number[];
}

/** The shapes the native kernels take, or null when the call is outside them (then the composite runs). */
function plan(be: WasmBackendLike, q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, mask: tf.TensorInfo): Plan | null {
  if ([q, k, v, mask].some((t) => t.dtype !== 'float32') || [q, k, v].some((t) => t.shape.length !== 4) || mask.shape.length > 4) return null;
  const [B, H, Nq, D] = q.shape;
  const [Nk, Dv] = [k.shape[2], v.shape[3]];
  if (k.shape.join() !== [B, H, Nk, D].join() || v.shape.join() !== [B, H, Nk, Dv].join()) return null;
  const target = [B, H, Nq, Nk];
  const padded = [...Array(4 - mask.shape.length).fill(1), ...mask.shape];
  if (padded.some((d, i) => d !== 1 && d !== target[i])) return null;
  const maskSize = padded.reduce((a, b) => a * b, 1);
  let maskOffset = heapOffset(be, mask);
  if (maskSize === 1 && Number.isFinite(new Float32Array(heapBuffer(be), maskOffset, 1)[0])) maskOffset = -1;
  return { B, H, Nq, Nk, D, Dv, maskOffset, strides: new Float64Array(broadcastStrides(padded, target)), maskSize, maskTail: padded.slice(2) };
}

function run(be: WasmBackendLike, name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  return tf.getKernel(name, 'wasm')!.kernelFunc({ inputs: inputs as never, backend: be as never, attrs: attrs as never }) as tf.TensorInfo;
}

/** softmax(scale·q·kᵀ + mask)·v one head at a time: two XNNPACK products on heap views, tfjs-wasm's Softmax. */
function attentionByHead(be: WasmBackendLike, q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, mask: tf.TensorInfo, scale: number, p: Plan): tf.TensorInfo {
  const { B, H, Nq, Nk, D, Dv } = p;
  const scaleT = be.makeOutput([], 'float32', undefined, Float32Array.of(scale));
  const qs = run(be, 'Multiply', { a: q, b: scaleT });
  const kt = transposeLast2(be, k); // [B, H, D, Nk]
  const out = be.makeOutput([B, H, Nq, Dv], 'float32');
  for (let head = 0; head < B * H; head++) {
    const [b, h] = [Math.floor(head / H), head % H];
    const qv = heapView(be, heapOffset(be, qs) + head * Nq * D * 4, [Nq, D]);
    const kv = heapView(be, heapOffset(be, kt) + head * D * Nk * 4, [D, Nk]);
    let s = be.makeOutput([Nq, Nk], 'float32');
    xnn(be, qv, kv, s, Nq, D, Nk);
    if (p.maskOffset >= 0) {
      // The mask's (b, h) slice: its last two axes are contiguous in its own layout.
      const mv = heapView(be, p.maskOffset + (b * p.strides[0] + h * p.strides[1]) * 4, p.maskTail);
      const sm = run(be, 'Add', { a: s, b: mv });
      dropView(be, mv);
      be.disposeData(s.dataId);
      s = sm;
    }
    const pr = run(be, 'Softmax', { logits: s }, { dim: 1 }); // kernels take the axis resolved
    const vv = heapView(be, heapOffset(be, v) + head * Nk * Dv * 4, [Nk, Dv]);
    const ov = heapView(be, heapOffset(be, out) + head * Nq * Dv * 4, [Nq, Dv]);
    xnn(be, pr, vv, ov, Nq, Nk, Dv);
    [qv, kv, vv, ov].forEach((x) => dropView(be, x));
    [s, pr].forEach((x) => be.disposeData(x.dataId));
  }
  [scaleT, qs, kt].forEach((x) => be.disposeData(x.dataId));
  return out;
}

/**
 * One input's gradient, head by head: p recomputed as in the forward; dv = pᵀ·dy; ds = p ⊙ (dy·vᵀ − rowsum(·⊙p));
 * dq = scale·ds·k; dk = dsᵀ·(scale·q). Transposed operands are transposed explicitly so that XNNPACK runs them.
 */
function attentionGradByHead(be: WasmBackendLike, q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, dy: tf.TensorInfo, scale: number,
  output: 'dq' | 'dk' | 'dv', p: Plan): tf.TensorInfo {
  const { B, H, Nq, Nk, D, Dv } = p;
  const scaleT = be.makeOutput([], 'float32', undefined, Float32Array.of(scale));
  const qs = run(be, 'Multiply', { a: q, b: scaleT });
  const kt = transposeLast2(be, k); // [B, H, D, Nk]
  const vt = output === 'dv' ? null : transposeLast2(be, v); // [B, H, Dv, Nk]
  const outShape = output === 'dq' ? [B, H, Nq, D] : output === 'dk' ? [B, H, Nk, D] : [B, H, Nk, Dv];
  const out = be.makeOutput(outShape, 'float32');
  const rowOut = outShape[3] * outShape[2];
  for (let head = 0; head < B * H; head++) {
    const [b, h] = [Math.floor(head / H), head % H];
    const temps: tf.TensorInfo[] = [];
    const views: tf.TensorInfo[] = [];
    const view = (t: tf.TensorInfo, elems: number, shape: number[]) => {
      const x = heapView(be, heapOffset(be, t) + head * elems * 4, shape);
      views.push(x);
      return x;
    };
    const temp = (t: tf.TensorInfo) => (temps.push(t), t);
    let s = temp(be.makeOutput([Nq, Nk], 'float32'));
    xnn(be, view(qs, Nq * D, [Nq, D]), view(kt, D * Nk, [D, Nk]), s, Nq, D, Nk);
    if (p.maskOffset >= 0) {
      const mv = heapView(be, p.maskOffset + (b * p.strides[0] + h * p.strides[1]) * 4, p.maskTail);
      views.push(mv);
      s = temp(run(be, 'Add', { a: s, b: mv }));
    }
    const pr = temp(run(be, 'Softmax', { logits: s }, { dim: 1 }));
    const dyv = view(dy, Nq * Dv, [Nq, Dv]);
    const ov = view(out, rowOut, outShape.slice(2));
    if (output === 'dv') {
      xnn(be, temp(transposeLast2(be, pr)), dyv, ov, Nk, Nq, Dv);
    } else {
      const dp = temp(be.makeOutput([Nq, Nk], 'float32'));
      xnn(be, dyv, view(vt!, Dv * Nk, [Dv, Nk]), dp, Nq, Dv, Nk);
      const rs = temp(run(be, 'Sum', { x: temp(run(be, 'Multiply', { a: dp, b: pr })) }, { axis: [1], keepDims: true }));
      const ds = temp(run(be, 'Multiply', { a: pr, b: temp(run(be, 'Sub', { a: dp, b: rs })) }));
      if (output === 'dq') xnn(be, ds, view(k, Nk * D, [Nk, D]), ov, Nq, Nk, D);
      else xnn(be, temp(transposeLast2(be, ds)), view(qs, Nq * D, [Nq, D]), ov, Nk, Nq, D);
    }
    views.forEach((x) => dropView(be, x));
    temps.forEach((x) => be.disposeData(x.dataId));
  }
  let result = out;
  if (output === 'dq') {
    result = run(be, 'Multiply', { a: out, b: scaleT });
    be.disposeData(out.dataId);
  }
  [scaleT, qs, kt, ...(vt ? [vt] : [])].forEach((x) => be.disposeData(x.dataId));
  return result;
}

function attentionWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.Tensor {
  const { q, k, v, mask } = inputs as Record<string, tf.Tensor>;
  const be = backend as WasmBackendLike;
  const nb = activeNative();
  const p = plan(be, q, k, v, mask);
  if (p && !nb && p.Nq > 0 && p.Nk > 0 && p.D > 0 && p.Dv > 0) return attentionByHead(be, q, k, v, mask, attrs.scale as number, p);
  if (!nb || !p) return tf.tidy(() => attentionComposite(q, k, v, attrs.scale as number, mask));
  releaseStash(be);
  const out = be.makeOutput([p.B, p.H, p.Nq, p.Dv], 'float32');
  nb.attentionForward(addonHeap(be), heapOffset(be, q), heapOffset(be, k), heapOffset(be, v), heapOffset(be, out),
    p.B, p.H, p.Nq, p.Nk, p.D, p.Dv, attrs.scale as number, p.maskOffset, p.strides, p.maskSize);
  return out;
}

// The gradient asks for dq, dk and dv in turn with the same inputs; the native backward makes all three in one
// pass, so the first request keeps the other two here until they are asked for (or the next attention call).
let stash: { key: string; ids: object[]; out: Partial<Record<AttentionGradOutput, tf.TensorInfo>> } | null = null;

function releaseStash(be: WasmBackendLike): void {
  if (!stash) return;
  for (const t of Object.values(stash.out)) if (t) be.disposeData(t.dataId);
  stash = null;
}

function attentionGradWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.Tensor {
  const { q, k, v, mask, dy } = inputs as Record<string, tf.Tensor>;
  const output = attrs.output as AttentionGradOutput;
  const scale = attrs.scale as number;
  const be = backend as WasmBackendLike;
  const nb = activeNative();
  const p = dy.dtype === 'float32' && dy.shape.join() === [...q.shape.slice(0, 3), v.shape[3]].join() ? plan(be, q, k, v, mask) : null;
  if (p && !nb && output !== 'dmask' && [p.Nq, p.Nk, p.D, p.Dv].every((d) => d > 0)) return attentionGradByHead(be, q, k, v, dy, scale, output, p);
  if (!nb || !p || (output === 'dmask' && p.maskOffset < 0)) {
    return tf.tidy(() => attentionGradComposite(q, k, v, mask, dy, scale, output));
  }
  const ids = [q, k, v, mask, dy].map((t) => t.dataId);
  const key = `${scale}|${[q, k, v, mask, dy].map((t) => t.shape.join('x')).join('|')}`;
  if (stash && stash.key === key && stash.ids.every((id, i) => id === ids[i]) && stash.out[output]) {
    const t = stash.out[output]!;
    delete stash.out[output];
    return t;
  }
  releaseStash(be);
  const { B, H, Nq, Nk, D, Dv } = p;
  const off = (t: tf.TensorInfo | null) => (t ? heapOffset(be, t) : -1);
  let outs: Partial<Record<AttentionGradOutput, tf.TensorInfo>>;
  if (output === 'dmask') {
    outs = { dmask: be.makeOutput(mask.shape, 'float32') };
  } else {
    outs = { dq: be.makeOutput([B, H, Nq, D], 'float32'), dk: be.makeOutput([B, H, Nk, D], 'float32'), dv: be.makeOutput([B, H, Nk, Dv], 'float32') };
  }
  nb.attentionBackward(addonHeap(be), off(q), off(k), off(v), off(dy), off(outs.dq ?? null), off(outs.dk ?? null), off(outs.dv ?? null),
    off(outs.dmask ?? null), B, H, Nq, Nk, D, Dv, scale, p.maskOffset, p.strides, p.maskSize);
  const result = outs[output]!;
  delete outs[output];
  if (Object.keys(outs).length) stash = { key, ids, out: outs };
  return result;
}

export function registerWasmAttention(): void {
  if (!tf.getKernel('IV2Attention', 'wasm')) tf.registerKernel({ kernelName: 'IV2Attention', backendName: 'wasm', kernelFunc: attentionWasm as never });
  if (!tf.getKernel('IV2AttentionGrad', 'wasm')) tf.registerKernel({ kernelName: 'IV2AttentionGrad', backendName: 'wasm', kernelFunc: attentionGradWasm as never });
}

/** Frees gradients computed ahead and not asked for (tests check the heap is clean). */
export function releaseAttentionStash(): void {
  const be = tf.findBackend('wasm') as unknown as WasmBackendLike | null;
  if (be && stash) releaseStash(be);
}
