import * as tf from '@tensorflow/tfjs-core';
import { attentionComposite } from '../composite/attention.js';
import { attentionGradComposite } from '../composite/attention_grad.js';
import { Attention, AttentionGrad, type AttentionGradOutput, Gelu, LayerNorm, RmsNorm } from '../kernel_names.js';
import { attentionProgram, MAX_KEYS } from './attention.js';
import { maskLayout } from './attention_mask.js';
import { attentionDkvProgram, attentionDqProgram, attentionStatsProgram } from './attention_grad.js';
import { geluProgram } from './gelu.js';
import { layerNormProgram, rmsNormProgram } from './norms.js';
import type { WebGPUBackendLike } from './program.js';

type KernelArgs = { inputs: tf.NamedTensorMap; backend: unknown; attrs: Record<string, unknown> };

/** Runs a program on inputs reshaped to the program's rank, and reshapes the result back to `shape`. */
function run(backend: unknown, program: ReturnType<typeof rmsNormProgram>, inputs: tf.Tensor[], shape: number[], uniforms?: Array<{ type: string; data: number[] }>): tf.Tensor {
  const info = (backend as WebGPUBackendLike).runWebGPUProgram(program, inputs, 'float32', uniforms);
  const out = tf.engine().makeTensorFromTensorInfo(info as never);
  return tf.tidy(() => {
    const r = tf.reshape(out, shape);
    out.dispose();
    return r;
  });
}

/** Dedicated WGSL kernels of the webgpu backend; registered before the composites, so they take precedence. */
export function registerWebGPUKernels(): void {
  const add = (kernelName: string, fn: (a: KernelArgs) => tf.Tensor) => {
    if (tf.getKernel(kernelName, 'webgpu')) return;
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: ((a: KernelArgs) => tf.tidy(() => fn(a))) as never });
  };
  add(RmsNorm, ({ inputs: { x, weight }, backend, attrs }) => {
    const c = x.shape[x.rank - 1];
    const x2 = tf.reshape(x, [-1, c]);
    return run(backend, rmsNormProgram(x2.shape[0], c), [x2, weight], x.shape, [{ type: 'float32', data: [attrs.eps as number] }]);
  });
  add(LayerNorm, ({ inputs: { x, weight, bias }, backend, attrs }) => {
    const c = x.shape[x.rank - 1];
    const x2 = tf.reshape(x, [-1, c]);
    return run(backend, layerNormProgram(x2.shape[0], c), [x2, weight, bias], x.shape, [{ type: 'float32', data: [attrs.eps as number] }]);
  });
  add(Gelu, ({ inputs: { x }, backend, attrs }) => {
    const flat = tf.reshape(x, [-1]);
    return run(backend, geluProgram(flat.size, attrs.approximate as 'none' | 'tanh'), [flat], x.shape);
  });
  add(Attention, ({ inputs: { q, k, v, mask }, backend, attrs }) => {
    const scale = attrs.scale as number;
    const [b, h, nq, d] = q.shape as [number, number, number, number];
    const nk = k.shape[2] as number;
    // Very long key sequences take the composite path.
    if (nk > MAX_KEYS) return attentionComposite(q, k, v, scale, mask);
    const m = maskLayout(mask, h);
    const r = (t: tf.Tensor, n: number) => tf.reshape(t, [b * h, n, d]);
    const ins = [r(q, nq), r(k, nk), r(v, nk), ...(m ? [m.flat] : [])];
    return run(backend, attentionProgram(b * h, nq, nk, d, m?.layout), ins, [b, h, nq, d], [{ type: 'float32', data: [scale] }]);
  });
  add(AttentionGrad, ({ inputs: { q, k, v, mask, dy }, backend, attrs }) => {
    const scale = attrs.scale as number;
    const output = attrs.output as AttentionGradOutput;
    const [b, h, nq, d] = q.shape as [number, number, number, number];
    const nk = k.shape[2] as number;
    if (nk > MAX_KEYS || nq > MAX_KEYS || output === 'dmask') {
      return attentionGradComposite(q, k, v, mask, dy, scale, output);
    }
    const u = [{ type: 'float32', data: [scale] }];
    const r = (t: tf.Tensor, n: number) => tf.reshape(t, [b * h, n, d]);
    const [q3, k3, v3, dy3] = [r(q, nq), r(k, nk), r(v, nk), r(dy, nq)];
    const m = maskLayout(mask, h);
    const mk = m ? [m.flat] : [];
    const o = run(backend, attentionProgram(b * h, nq, nk, d, m?.layout), [q3, k3, v3, ...mk], [b * h, nq, d], u);
    const stats = run(backend, attentionStatsProgram(b * h, nq, nk, d, m?.layout), [q3, k3, o, dy3, ...mk], [b * h, nq, 2], u);
    if (output === 'dq') return run(backend, attentionDqProgram(b * h, nq, nk, d, m?.layout), [q3, k3, v3, dy3, stats, ...mk], [b, h, nq, d], u);
    const dkv = run(backend, attentionDkvProgram(b * h, nq, nk, d, m?.layout), [q3, k3, v3, dy3, stats, ...mk], [b * h, nk, 2 * d], u);
    const part = tf.slice(dkv, [0, 0, output === 'dk' ? 0 : d], [b * h, nk, d]);
    return tf.reshape(part, [b, h, nk, d]);
  });
}
