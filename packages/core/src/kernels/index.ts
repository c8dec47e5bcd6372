export * as KernelNames from './kernel_names.js';
export { registerKernels, registerKernelsFor, COMPOSITE_KERNELS, BACKENDS } from './register.js';
