export * as KernelNames from './kernel_names.js';
export { registerKernels, registerKernelsFor, COMPOSITE_KERNELS, BACKENDS } from './register.js';
export { wasmMatMulCounts } from './wasm/matmul.js';
export { wasmElementwiseCounts } from './wasm/elementwise.js';
export { GatherIndexError, wasmCopyCounts } from './wasm/copy.js';
export { describeNative, type NativeDescription, type NativeOptions } from './wasm/native.js';
export { releaseAttentionStash } from './wasm/attention.js';
