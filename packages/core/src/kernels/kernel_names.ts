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
