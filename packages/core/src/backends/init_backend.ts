import * as tf from '@tensorflow/tfjs-core';
import { installWebGPUAddN } from '../kernels/webgpu/add_n.js';
import { BackendUnavailableError } from './errors.js';
import { setupNodeWebGPU } from './node_webgpu.js';
import { registerKernelsFor } from '../kernels/register.js';
import { installWasmElementwise } from '../kernels/wasm/elementwise.js';
import { installWasmMatMul } from '../kernels/wasm/matmul.js';
import { installWasmSplit } from '../kernels/wasm/split.js';
import { installWasmCopyKernels } from '../kernels/wasm/copy.js';
import { activeNative, setupNative, type NativeOptions } from '../kernels/wasm/native.js';
import { cores, startThreadedWasm, type WasmThreadsResult } from './wasm_threads_node.js';

export type BackendName = 'auto' | 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';

export interface InitBackendOptions {
  /** Where the browser finds tfjs-backend-wasm's .wasm files (a folder URL or a map of file name → URL). */
  wasmPaths?: string | Record<string, string>;
  /**
   * Node, wasm backend: run matmuls and attention through `@iv2/native` (OpenBLAS GEMM and fused attention on the
   * wasm heap) when it is installed and loads. Default on (the env variable IV2_NATIVE=0 turns the default off);
   * `false` keeps the wasm kernels; `{ threads }` sets the addon's thread count (default: the machine's cores).
   */
  native?: boolean | NativeOptions;
  /**
   * Node, wasm backend without an active @iv2/native: tfjs-wasm's threaded-SIMD build with this many XNNPACK threads
   * (default: the cores this process may use, at most 8; the env variable IV2_WASM_THREADS sets it, 0 or 1 keeps the
   * single-threaded build). Decided when the wasm backend first starts in the process. With the addon active the
   * single-threaded build runs, since the addon's own threads do the heavy work.
   */
  wasmThreads?: number | false;
}

let wasmThreads: WasmThreadsResult | null = null;

/** How tfjs-wasm started in this process (Node): its XNNPACK threads, and why not more. Null before it starts. */
export function wasmThreadsStatus(): WasmThreadsResult | null {
  return wasmThreads;
}

async function wantedWasmThreads(opts: InitBackendOptions): Promise<{ n: number; reason?: string }> {
  if (activeNative()) return { n: 1, reason: '@iv2/native runs the heavy kernels on its own threads' };
  if (opts.wasmThreads === false) return { n: 1, reason: 'wasmThreads: false' };
  if (typeof opts.wasmThreads === 'number') return { n: opts.wasmThreads, reason: 'wasmThreads' };
  const env = process.env.IV2_WASM_THREADS;
  if (env !== undefined && env !== '') return { n: Number(env) || 1, reason: 'IV2_WASM_THREADS' };
  return { n: await cores() };
}

/** Node: loads the addon first, since whether it is active decides which tfjs-wasm build to start. */
async function startWasmNode(wasm: typeof import('@tensorflow/tfjs-backend-wasm'), opts: InitBackendOptions): Promise<void> {
  await setupNative(opts.native);
  if (tf.findBackend('wasm')) return;
  const want = await wantedWasmThreads(opts);
  if (want.n > 1) {
    wasmThreads = await startThreadedWasm(wasm, want.n);
    if (!wasmThreads.reason) return;
  } else {
    wasmThreads = { threads: 1, reason: want.reason ?? 'one core' };
  }
}

export const isNode = (): boolean => typeof process !== 'undefined' && !!process.versions?.node;

async function importTensorflow(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      return true;
    } catch {
      // not installed: an optional peer
    }
  }
  return false;
}

async function start(name: Exclude<BackendName, 'auto'>, opts: InitBackendOptions): Promise<void> {
  switch (name) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (opts.wasmPaths) wasm.setWasmPaths(opts.wasmPaths as string);
      if (isNode()) await startWasmNode(wasm, opts);
      break;
    }
    case 'webgpu':
      if (isNode()) await setupNodeWebGPU();
      else if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
        throw new BackendUnavailableError('webgpu', 'this browser has no navigator.gpu (WebGPU needs a secure context and a recent browser)');
      }
      await import('@tensorflow/tfjs-backend-webgpu');
      break;
    case 'tensorflow':
      if (!(await importTensorflow())) {
        throw new BackendUnavailableError('tensorflow', "install '@tensorflow/tfjs-node' (or '@tensorflow/tfjs-node-gpu' with CUDA 11.2 / cuDNN 8.1)");
      }
      break;
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendUnavailableError(name, 'tfjs could not initialise it (see the warnings above)');
  await tf.ready();
  registerKernelsFor(name);
  if (name === 'webgpu') installWebGPUAddN();
  if (name === 'wasm') {
    installWasmMatMul();
    installWasmElementwise();
    installWasmSplit();
    installWasmCopyKernels();
  }
  if (name === 'cpu') {
    // The CPU backend advertises tfjs-node on first use; iv2 picks backends itself.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
}

/**
 * Starts a backend and makes it current. `auto`: in Node, `tensorflow` when tfjs-node(-gpu) is installed, else
 * `wasm`; in the browser, `webgpu`, else `wasm`, else `cpu`.
 */
export async function initBackend(name: BackendName = 'auto', opts: InitBackendOptions = {}): Promise<string> {
  if (name !== 'auto') {
    await start(name, opts);
    return name;
  }
  const order: Array<Exclude<BackendName, 'auto'>> = isNode() ? ['tensorflow', 'wasm', 'cpu'] : ['webgpu', 'wasm', 'cpu'];
  const errors: string[] = [];
  for (const n of order) {
    try {
      await start(n, opts);
      return n;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new BackendUnavailableError('auto', errors.join('; '));
}
