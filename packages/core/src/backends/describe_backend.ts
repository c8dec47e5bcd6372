import * as tf from '@tensorflow/tfjs-core';
import { describeNative, type NativeDescription } from '../kernels/wasm/native.js';
import { wasmThreadsStatus } from './init_backend.js';

export interface BackendDescription {
  backend: string;
  tfjs: string;
  runtime: string;
  adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  features?: string[];
  limits?: Record<string, number>;
  /** `threads`: the threaded build runs; `xnnpackThreads`: its pool (Node), and why not more when it is 1. */
  wasm?: { simd: boolean; threads: boolean; xnnpackThreads?: number; singleThreadReason?: string };
  /** wasm in Node: whether @iv2/native runs the matmuls and attention (its BLAS and threads), or why not. */
  native?: NativeDescription;
}

/** What the current backend is and runs on: the WebGPU adapter, its features and limits; wasm's SIMD and threads and, in Node, its native kernels. */
export async function describeBackend(): Promise<BackendDescription> {
  const backend = tf.getBackend();
  const runtime =
    typeof process !== 'undefined' && process.versions?.node
      ? `node ${process.versions.node} ${process.platform}-${process.arch}`
      : typeof navigator !== 'undefined'
        ? navigator.userAgent
        : 'unknown';
  const d: BackendDescription = { backend, tfjs: tf.version_core, runtime };
  if (backend === 'webgpu') {
    const b = tf.backend() as unknown as { device: GPUDevice; adapterInfo?: unknown };
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    const adapter = await gpu?.requestAdapter();
    const info = (adapter as unknown as { info?: GPUAdapterInfo })?.info;
    d.adapter = {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
      isFallbackAdapter: Boolean((adapter as unknown as { isFallbackAdapter?: boolean })?.isFallbackAdapter),
    };
    d.features = [...(b.device.features as unknown as Set<string>)].sort();
    const limits: Record<string, number> = {};
    for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize']) {
      limits[k] = (b.device.limits as unknown as Record<string, number>)[k];
    }
    d.limits = limits;
  }
  if (backend === 'wasm') {
    d.wasm = { simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) };
    const t = wasmThreadsStatus();
    if (t) {
      d.wasm.xnnpackThreads = t.threads;
      if (t.reason) d.wasm.singleThreadReason = t.reason;
    }
    if (typeof process !== 'undefined' && process.versions?.node) d.native = describeNative();
  }
  return d;
}
