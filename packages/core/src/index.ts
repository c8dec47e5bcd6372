import './tfjs/register_gradients.js';
import './kernels/setup.js';

export * from './backends/index.js';
export * from './ops/index.js';
export * from './kernels/index.js';
export * from './gradients/index.js';
export * from './nn/index.js';
export * from './checkpoint/index.js';
export * from './optim/index.js';
export * from './random/index.js';
export * from './video/index.js';
