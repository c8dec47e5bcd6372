import './tfjs/register_gradients.js';

export * from './ops/index.js';
export { Rng, type RngState } from './random/rng.js';
export type { CheckpointDType, HostTensor, TensorSource } from './checkpoint/types.js';
