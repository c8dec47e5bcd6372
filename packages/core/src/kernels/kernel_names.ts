/** Kernel names of the ops iv2 adds to tfjs; gradients and per-backend implementations are keyed by them. */
export const RmsNorm = 'IV2RmsNorm';
export const LayerNorm = 'IV2LayerNorm';
export const Gelu = 'IV2Gelu';
export const Attention = 'IV2Attention';
/** Inputs q, k, v, mask, dy; attrs scale and which gradient (`output`). */
export const AttentionGrad = 'IV2AttentionGrad';
export type AttentionGradOutput = 'dq' | 'dk' | 'dv' | 'dmask';

export interface RmsNormAttrs {
  eps: number;
}
export interface LayerNormAttrs {
  eps: number;
}
export interface GeluAttrs {
  approximate: 'none' | 'tanh';
}
export interface AttentionAttrs {
  scale: number;
}
export interface AttentionGradAttrs {
  scale: number;
  output: AttentionGradOutput;
}

/** Inputs x, weight, bias (a scalar placeholder when `hasBias` is false). */
export const Linear = 'IV2Linear';
export const L2Normalize = 'IV2L2Normalize';
export const SoftCrossEntropy = 'IV2SoftCrossEntropy';
export const GatherTokens = 'IV2GatherTokens';
export const ScatterTokens = 'IV2ScatterTokens';
export const InterpolateLinear1d = 'IV2InterpolateLinear1d';
export const InterpolateBicubic2d = 'IV2InterpolateBicubic2d';

export interface LinearAttrs {
  hasBias: boolean;
}
export interface L2NormalizeAttrs {
  axis: number;
  eps: number;
}
export interface ScatterTokensAttrs {
  n: number;
}
export interface InterpolateLinear1dAttrs {
  size: number;
  axis: number;
}
export interface InterpolateBicubic2dAttrs {
  size: [number, number];
}

/**
 * One AdamW step of one parameter: inputs param, grad, m, v; outputs [param, m, v]. `lr` is the group's rate,
 * `bc1`/`bc2` the bias corrections 1 − βᵗ, `gradScale` the clipping coefficient (1 when not clipped).
 */
export const AdamWUpdate = 'IV2AdamWUpdate';

export interface AdamWUpdateAttrs {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  bc1: number;
  bc2: number;
  gradScale: number;
}
