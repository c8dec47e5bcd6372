import * as tf from '@tensorflow/tfjs-core';
import { attentionComposite } from '../composite/attention.js';
import { attentionGradComposite } from '../composite/attention_grad.js';
import type { AttentionGradOutput } from '../kernel_names.js';
import { broadcastStrides, dropView, heapBuffer, heapOffset, heapView, type WasmBackendLike } from './heap.js';
import { transposeLast2, xnn } from './matmul.js';
import { activeNative } from './native.js';

/**
 * IV2Attention / IV2AttentionGrad on the wasm backend: @iv2/native's fused kernels when the addon is active (no
 * N×N scores in memory, all cores). Without it the forward runs head by head on XNNPACK (the scores of one head in
 * memory at a time, not B·H of them) and the backward is the composite, whose matmuls reach XNNPACK through the
 * wasm BatchMatMul kernel (matmul.ts).
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
  return { B, H, Nq, Nk, D, Dv, maskOffset, strides: new Float64Array(broadcastStrides(padded, target)), maskSize };
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
  const padded = [...Array(4 - mask.shape.length).fill(1), ...mask.shape];
  for (let head = 0; head < B * H; head++) {
    const [b, h] = [Math.floor(head / H), head % H];
    const qv = heapView(be, heapOffset(be, qs) + head * Nq * D * 4, [Nq, D]);
    const kv = heapView(be, heapOffset(be, kt) + head * D * Nk * 4, [D, Nk]);
    let s = be.makeOutput([Nq, Nk], 'float32');
    xnn(be, qv, kv, s, Nq, D, Nk);
    if (p.maskOffset >= 0) {
      // The mask's (b, h) slice: its last two axes are contiguous in its own layout.
      const mv = heapView(be, p.maskOffset + (b * p.strides[0] + h * p.strides[1]) * 4, padded.slice(2));
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

function attentionWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | tf.Tensor {
  const { q, k, v, mask } = inputs as Record<string, tf.Tensor>;
  const be = backend as WasmBackendLike;
  const nb = activeNative();
  const p = plan(be, q, k, v, mask);
  if (p && !nb && p.Nq > 0 && p.Nk > 0 && p.D > 0 && p.Dv > 0) return attentionByHead(be, q, k, v, mask, attrs.scale as number, p);
  if (!nb || !p) return tf.tidy(() => attentionComposite(q, k, v, attrs.scale as number, mask));
  releaseStash(be);
  const out = be.makeOutput([p.B, p.H, p.Nq, p.Dv], 'float32');
  nb.attentionForward(heapBuffer(be), heapOffset(be, q), heapOffset(be, k), heapOffset(be, v), heapOffset(be, out),
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
  const p = nb && dy.dtype === 'float32' && dy.shape.join() === [...q.shape.slice(0, 3), v.shape[3]].join() ? plan(be, q, k, v, mask) : null;
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
  nb.attentionBackward(heapBuffer(be), off(q), off(k), off(v), off(dy), off(outs.dq ?? null), off(outs.dk ?? null), off(outs.dv ?? null),
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
