export * as KernelNames from './kernel_names.js';
export { registerKernels, COMPOSITE_KERNELS, BACKENDS } from './register.js';
