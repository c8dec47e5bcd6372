export type { CheckpointDType, HostTensor, TensorSource } from './types.js';
