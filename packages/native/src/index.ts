import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tfjs's fused matmul activations the GEMM epilogue applies (prelu is not among them). */
export const Activation = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 } as const;
export type ActivationName = keyof typeof Activation;

/** Element-wise operations of {@link NativeBinding.binary}, {@link NativeBinding.unary} and {@link NativeBinding.reduce}. */
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3, squaredDifference: 4, maximum: 5, minimum: 6 } as const;
export const UnaryOp = { exp: 0, erf: 1, square: 2, sqrt: 3, rsqrt: 4, neg: 5, abs: 6, reciprocal: 7, copy: 8 } as const;
export const ReduceOp = { sum: 0, mean: 1 } as const;

/**
 * The addon's functions. Every tensor is a float32 region of `buffer` (in iv2, the wasm backend's
 * `WebAssembly.Memory` buffer; a Uint8Array over it when that memory is shared) given by its byte offset; an offset of −1 means absent. Regions are bounds-checked.
 */
export interface NativeBinding {
  /**
   * For each triple (a, b, c) of byte offsets in `offsets`: c = op(a)·op(b) (m×k times k×n, row-major), then
   * c += bias (biasLen 0: none, 1: a scalar, n: per column) and the activation.
   */
  gemm(buffer: ArrayBuffer | Uint8Array, transA: boolean, transB: boolean, m: number, n: number, k: number, offsets: Float64Array,
    biasOffset: number, biasLen: number, activation: number, alpha: number): void;
  /** out = softmax(scale·q·kᵀ + mask)·v; q [B,H,Nq,D], k [B,H,Nk,D], v [B,H,Nk,Dv]; mask read through strides. */
  attentionForward(buffer: ArrayBuffer | Uint8Array, q: number, k: number, v: number, out: number, B: number, H: number, Nq: number,
    Nk: number, D: number, Dv: number, scale: number, mask: number, maskStrides: Float64Array, maskSize: number): void;
  /** dq, dk, dv and dmask (each −1 when not wanted) of attention for the output gradient dy, in one pass. */
  attentionBackward(buffer: ArrayBuffer | Uint8Array, q: number, k: number, v: number, dy: number, dq: number, dk: number, dv: number,
    dmask: number, B: number, H: number, Nq: number, Nk: number, D: number, Dv: number, scale: number, mask: number,
    maskStrides: Float64Array, maskSize: number): void;
  /** RMSNorm (kind 0) or LayerNorm (kind 1, with bias) over rows of `cols`: y = norm(x)·weight (+ bias). */
  norm(buffer: ArrayBuffer | Uint8Array, kind: 0 | 1, x: number, weight: number, bias: number, y: number, rows: number, cols: number, eps: number): void;
  /** GELU of n floats, exact (erf) or the tanh form. */
  gelu(buffer: ArrayBuffer | Uint8Array, x: number, y: number, n: number, tanhForm: boolean): void;
  /**
   * out = a op b (0 add, 1 sub, 2 mul, 3 div, 4 squared difference, 5 max, 6 min) over a dense output of `shape`;
   * aStrides / bStrides: each operand's element stride per output axis, 0 where it broadcasts; aSize / bSize: the
   * operands' element counts (checked against the strides).
   */
  binary(buffer: ArrayBuffer | Uint8Array, op: number, a: number, b: number, out: number, shape: Float64Array, aStrides: Float64Array,
    bStrides: Float64Array, aSize: number, bSize: number): void;
  /** y = f(x) over n floats: 0 exp, 1 erf, 2 square, 3 sqrt, 4 rsqrt, 5 neg, 6 abs, 7 reciprocal, 8 copy. */
  unary(buffer: ArrayBuffer | Uint8Array, op: number, x: number, y: number, n: number): void;
  /** y [outer, inner] = sum (op 0) or mean (op 1) of x [outer, red, inner] over its middle axis. */
  reduce(buffer: ArrayBuffer | Uint8Array, op: number, x: number, y: number, outer: number, red: number, inner: number): void;
  /** Sets the threads the kernels (and BLAS) use; 0 or nothing: the cores this process may run on. Returns the count. */
  setThreads(n?: number): number;
  info(): { blas: string; threads: number; defaultThreads: number };
}

export interface NativeStatus {
  available: boolean;
  /** The binary that loaded. */
  path?: string;
  /** Why it is not available. */
  reason?: string;
  blas?: string;
  threads?: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const FILE = 'iv2_native.node';

/** Where the binary may be, first match wins: $IV2_NATIVE_PATH, the local build, a prebuilt one for this platform. */
export function candidatePaths(): string[] {
  const pkg = join(here, '..');
  return [
    ...(process.env.IV2_NATIVE_PATH ? [process.env.IV2_NATIVE_PATH] : []),
    join(pkg, 'build', 'Release', FILE),
    join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
  ];
}

/**
 * OpenBLAS picks its kernels by CPU model at load time and falls back to its oldest x86-64 kernels (Prescott, no
 * AVX) on CPUs it does not know, as virtual machines often report them: 2048² ran at 15 GFLOP/s instead of ~300 on
 * our machines. Unless OPENBLAS_CORETYPE is set, name the kernel family from the CPU's own feature flags.
 */
function pickOpenBlasCore(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.OPENBLAS_CORETYPE) return;
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return;
  }
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'fma'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (['avx2', 'fma'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'Haswell';
}

let cached: { binding: NativeBinding | null; status: NativeStatus } | null = null;

function load(): { binding: NativeBinding | null; status: NativeStatus } {
  const require = createRequire(import.meta.url);
  pickOpenBlasCore();
  const errors: string[] = [];
  for (const p of candidatePaths()) {
    if (!existsSync(p)) continue;
    try {
      const binding = require(p) as NativeBinding;
      const info = binding.info();
      return { binding, status: { available: true, path: p, blas: info.blas, threads: info.threads } };
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message}`);
    }
  }
  const reason = errors.length
    ? `the addon did not load (${errors.join('; ')})`
    : 'the addon is not built (needs a C++ compiler, python3 and OpenBLAS; see @iv2/native README)';
  return { binding: null, status: { available: false, reason } };
}

/** The addon, or null when it is not built or does not load here (see {@link nativeStatus}). Loaded once. */
export function loadNative(): NativeBinding | null {
  cached ??= load();
  return cached.binding;
}

/** Whether the addon loaded, from where, its BLAS and thread count; otherwise why not. */
export function nativeStatus(): NativeStatus {
  cached ??= load();
  const s = { ...cached.status };
  if (cached.binding) s.threads = cached.binding.info().threads;
  return s;
}
