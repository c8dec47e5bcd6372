import * as tf from '@tensorflow/tfjs-core';
import { registerAdamWKernels } from './adamw_update_js.js';
import { adamwUpdateComposite } from './composite/adamw_update.js';
import { attentionComposite } from './composite/attention.js';
import { attentionGradComposite } from './composite/attention_grad.js';
import { geluComposite } from './composite/gelu.js';
import { interpolateBicubic2dComposite, interpolateLinear1dComposite } from './composite/interpolate.js';
import { l2NormalizeComposite } from './composite/l2_normalize.js';
import { linearComposite } from './composite/linear.js';
import { softCrossEntropyComposite } from './composite/soft_cross_entropy.js';
import { gatherTokensComposite, scatterTokensComposite } from './composite/tokens.js';
import { layerNormComposite, rmsNormComposite } from './composite/norms.js';
import * as K from './kernel_names.js';
import { registerWasmKernels } from './wasm/register.js';
import { registerWebGPUKernels } from './webgpu/register.js';

type Composite = (inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

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
  [K.Linear]: ({ x, weight, bias }, a) => linearComposite(x, weight, a.hasBias ? bias : null),
  [K.L2Normalize]: ({ x }, a) => l2NormalizeComposite(x, a.axis as number, a.eps as number),
  [K.SoftCrossEntropy]: ({ logits, targets }) => softCrossEntropyComposite(logits, targets),
  [K.GatherTokens]: ({ x, index }) => gatherTokensComposite(x, index),
  [K.ScatterTokens]: ({ updates, index }, a) => scatterTokensComposite(updates, index, a.n as number),
  [K.InterpolateLinear1d]: ({ x }, a) => interpolateLinear1dComposite(x, a.size as number, a.axis as number),
  [K.InterpolateBicubic2d]: ({ x }, a) => interpolateBicubic2dComposite(x, a.size as [number, number]),
  [K.AdamWUpdate]: ({ param, grad, m, v }, a) => adamwUpdateComposite(param, grad, m, v, a as unknown as K.AdamWUpdateAttrs),
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
  registerAdamWKernels();
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
