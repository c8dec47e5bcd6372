export { initBackend, isNode, wasmThreadsStatus, type BackendName, type InitBackendOptions } from './init_backend.js';
export type { WasmThreadsResult } from './wasm_threads_node.js';
export { describeBackend, type BackendDescription } from './describe_backend.js';
export { setupNodeWebGPU, SWIFTSHADER_ICD } from './node_webgpu.js';
export { BackendUnavailableError } from './errors.js';
