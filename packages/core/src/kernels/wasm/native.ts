// The shapes of @iv2/native's exports that core uses, declared here so that core's types do not need the package.
export interface NativeBinding {
  gemm(buffer: ArrayBuffer | Uint8Array, transA: boolean, transB: boolean, m: number, n: number, k: number, offsets: Float64Array,
    biasOffset: number, biasLen: number, activation: number, alpha: number): void;
  attentionForward(buffer: ArrayBuffer | Uint8Array, q: number, k: number, v: number, out: number, B: number, H: number, Nq: number,
    Nk: number, D: number, Dv: number, scale: number, mask: number, maskStrides: Float64Array, maskSize: number): void;
  attentionBackward(buffer: ArrayBuffer | Uint8Array, q: number, k: number, v: number, dy: number, dq: number, dk: number, dv: number,
    dmask: number, B: number, H: number, Nq: number, Nk: number, D: number, Dv: number, scale: number, mask: number,
    maskStrides: Float64Array, maskSize: number): void;
  norm(buffer: ArrayBuffer | Uint8Array, kind: 0 | 1, x: number, weight: number, bias: number, y: number, rows: number, cols: number, eps: number): void;
  gelu(buffer: ArrayBuffer | Uint8Array, x: number, y: number, n: number, tanhForm: boolean): void;
  binary(buffer: ArrayBuffer | Uint8Array, op: number, a: number, b: number, out: number, shape: Float64Array, aStrides: Float64Array,
    bStrides: Float64Array, aSize: number, bSize: number): void;
  unary(buffer: ArrayBuffer | Uint8Array, op: number, x: number, y: number, n: number): void;
  reduce(buffer: ArrayBuffer | Uint8Array, op: number, x: number, y: number, outer: number, red: number, inner: number): void;
  setThreads(n?: number): number;
  info(): { blas: string; threads: number; defaultThreads: number };
}
export interface NativeStatus {
  available: boolean;
  path?: string;
  reason?: string;
  blas?: string;
  threads?: number;
}

/** Whether `initBackend('wasm')` uses @iv2/native, and with how many threads. */
export interface NativeOptions {
  /** Threads for GEMM and attention; default: the cores this process may run on. */
  threads?: number;
}

export interface NativeDescription extends NativeStatus {
  /** The wasm backend runs its matmuls and attention through the addon now. */
  active: boolean;
}

let binding: NativeBinding | null = null;
let status: NativeStatus = { available: false, reason: 'not looked for yet (initBackend loads it)' };
let active = false;

/**
 * Loads @iv2/native (an optional peer) and makes the wasm kernels use it; `false` turns it off again. The env
 * variable IV2_NATIVE=0 keeps it off. Never throws: without the addon the wasm kernels run as they are.
 */
export async function setupNative(opt: boolean | NativeOptions | undefined): Promise<void> {
  const off = opt === false || (opt === undefined && typeof process !== 'undefined' && process.env?.IV2_NATIVE === '0');
  if (off) {
    active = false;
    return;
  }
  if (!binding) {
    try {
      const mod = (await import(/* @vite-ignore */ '@iv2/native' as string)) as { loadNative(): NativeBinding | null; nativeStatus(): NativeStatus };
      binding = mod.loadNative();
      status = mod.nativeStatus();
    } catch (e) {
      status = { available: false, reason: `@iv2/native is not installed (${(e as Error).message.split('\n')[0]})` };
    }
  }
  if (binding) binding.setThreads(typeof opt === 'object' ? (opt.threads ?? 0) : 0);
  active = binding !== null;
}

/** The addon when the wasm kernels should use it, else null. */
export function activeNative(): NativeBinding | null {
  return active ? binding : null;
}

export function describeNative(): NativeDescription {
  return { ...status, ...(binding ? { threads: binding.info().threads } : {}), active };
}
