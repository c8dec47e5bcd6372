/**
 * The shape of a program that tfjs-backend-webgpu runs (`WebGPUBackend.runWebGPUProgram`). tfjs generates the
 * bindings, `uniforms.outShape`, the accessors `get<Name>(…)` and `setOutputAtIndex`/`setOutputAtCoords`, and calls
 * the user code's `main(index)` with the global invocation index.
 */
export interface WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode(): string;
}

export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: unknown[],
    dtype: 'float32',
    uniforms?: Array<{ type: string; data: number[] }>,
  ): { dataId: object; shape: number[]; dtype: string };
}

/** One workgroup per row of `rows`, `threads` invocations each. */
export function rowDispatch(rows: number, threads: number): Pick<WebGPUProgram, 'dispatchLayout' | 'dispatch' | 'workgroupSize'> {
  return { dispatchLayout: { x: [0] }, dispatch: [rows, 1, 1], workgroupSize: [threads, 1, 1] };
}

/** One invocation per output element. */
export function flatDispatch(size: number, threads = 128): Pick<WebGPUProgram, 'dispatchLayout' | 'dispatch' | 'workgroupSize'> {
  return { dispatchLayout: { x: [0] }, dispatch: [Math.ceil(size / threads), 1, 1], workgroupSize: [threads, 1, 1] };
}

/** A workgroup tree reduction of `buf` (size = threads) into `buf[0]`; `op` combines two values. */
export function reduceSnippet(threads: number, op: (a: string, b: string) => string): string {
  return `
      workgroupBarrier();
      for (var s = ${threads / 2}; s > 0; s = s >> 1) {
        if (tid < s) { buf[tid] = ${op('buf[tid]', 'buf[tid + s]')}; }
        workgroupBarrier();
      }`;
}

/**
 * The start of a one-workgroup-per-row program: `row` (flat), `b` and `i` (row = b·rowsPerBatch + i), `tid`.
 */
export function rowPrologue(threads: number, rowsPerBatch: number): string {
  return `let row = index / ${threads};
      let b = row / ${rowsPerBatch};
      let i = row % ${rowsPerBatch};
      let tid = i32(localId.x);`;
}
