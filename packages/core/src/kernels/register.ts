import * as tf from '@tensorflow/tfjs-core';
import { attentionComposite } from './composite/attention.js';
import { attentionGradComposite } from './composite/attention_grad.js';
import { geluComposite } from './composite/gelu.js';
import { layerNormComposite, rmsNormComposite } from './composite/norms.js';
import { unsortedSegmentSumComposite } from './composite/unsorted_segment_sum.js';
import * as K from './kernel_names.js';
import { registerWebGPUKernels } from './webgpu/register.js';

type Composite = (inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) => tf.Tensor;

/**
 * Every iv2 kernel, as a composite of tfjs ops. A composite kernel receives the input tensors and returns a tensor
 * (the engine adopts it as the output; ops run inside a kernel are not taped, the gradient is registered per kernel).
 */
export const COMPOSITE_KERNELS: Record<string, Composite> = {
  [K.RmsNorm]: ({ x, weight }, a) => rmsNormComposite(x, weight, a.eps as number),
  [K.LayerNorm]: ({ x, weight, bias }, a) => layerNormComposite(x, weight, bias, a.eps as number),
  [K.Gelu]: ({ x }, a) => geluComposite(x, a.approximate as 'none' | 'tanh'),
  [K.Attention]: ({ q, k, v, mask }, a) => attentionComposite(q, k, v, a.scale as number, mask),
  [K.AttentionGrad]: ({ q, k, v, mask, dy }, a) =>
    attentionGradComposite(q, k, v, mask, dy, a.scale as number, a.output as K.AttentionGradOutput),
};

/** Kernels tfjs itself lacks on some backend, filled in with composites. */
const MISSING_TFJS_KERNELS: Record<string, Record<string, Composite>> = {
  wasm: {
    UnsortedSegmentSum: ({ x, segmentIds }, a) => unsortedSegmentSumComposite(x, segmentIds, a.numSegments as number),
  },
};

/** Backends every composite is registered for; dedicated kernels (WGSL) replace them where they exist. */
export const BACKENDS = ['cpu', 'wasm', 'webgpu', 'webgl', 'tensorflow'];

function register(kernelName: string, backendName: string, fn: Composite): void {
  if (tf.getKernel(kernelName, backendName)) return;
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs }) => tf.tidy(() => fn(inputs as tf.NamedTensorMap, attrs as Record<string, unknown>)) as never,
  });
}

let done = false;

/** Registers the composite kernels and the missing tfjs kernels. Idempotent; dedicated kernels registered first win. */
export function registerKernels(): void {
  if (done) return;
  done = true;
  registerWebGPUKernels();
  for (const [name, fn] of Object.entries(COMPOSITE_KERNELS)) for (const b of BACKENDS) register(name, b, fn);
  for (const [b, kernels] of Object.entries(MISSING_TFJS_KERNELS)) for (const [name, fn] of Object.entries(kernels)) register(name, b, fn);
}
