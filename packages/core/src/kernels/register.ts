import * as tf from '@tensorflow/tfjs-core';
import { attentionComposite } from './composite/attention.js';
import { attentionGradComposite } from './composite/attention_grad.js';
import { geluComposite } from './composite/gelu.js';
import { layerNormComposite, rmsNormComposite } from './composite/norms.js';
import * as K from './kernel_names.js';
import { registerWasmKernels } from './wasm/register.js';
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
  registerWasmKernels();
  for (const b of BACKENDS) registerComposites(b);
}

function registerComposites(backendName: string): void {
  for (const [name, fn] of Object.entries(COMPOSITE_KERNELS)) register(name, backendName, fn);
}

/**
 * Registers the composites for one backend name that has no kernel of that name yet. `initBackend` calls it for
 * the backend it starts, so a backend registered under a name outside {@link BACKENDS} gets the ops too.
 */
export function registerKernelsFor(backendName: string): void {
  // Dedicated kernels first, or a composite registered here would shadow them.
  registerKernels();
  registerComposites(backendName);
}
