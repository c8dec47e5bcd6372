import type * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's `BackendWasm` that kernels working on its heap use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.TypedArray): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: tf.DataType; refCount: number };
    set(dataId: object, value: { id: number; memoryOffset: number; shape: number[]; dtype: tf.DataType; refCount: number }): void;
    delete(dataId: object): void;
  };
  dataIdNextNumber: number;
  wasm: {
    HEAPU8: Uint8Array;
    cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
  };
}

/** Byte offset of a tensor's data in the wasm heap (a reshape shares its input's data). */
export function heapOffset(be: WasmBackendLike, t: tf.TensorInfo): number {
  return be.dataIdMap.get(t.dataId).memoryOffset;
}

/** The heap's current buffer: take it after every allocation, since growing the heap replaces it. */
export function heapBuffer(be: WasmBackendLike): ArrayBuffer {
  return be.wasm.HEAPU8.buffer as ArrayBuffer;
}

/**
 * The heap as @iv2/native takes it: the buffer, or a view over all of it when the memory is shared (tfjs-wasm's
 * threaded build), since Node-API reaches a SharedArrayBuffer only through a view.
 */
export function addonHeap(be: WasmBackendLike): ArrayBuffer | Uint8Array {
  const u8 = be.wasm.HEAPU8;
  return u8.buffer instanceof ArrayBuffer ? u8.buffer : u8;
}

/**
 * A float32 tensor over part of another one's memory, without copying: registered with the wasm runtime (and the
 * backend's table, so tfjs-wasm kernels accept it) and released by {@link dropView}, which frees nothing.
 */
export function heapView(be: WasmBackendLike, byteOffset: number, shape: number[]): tf.TensorInfo {
  const id = be.dataIdNextNumber++;
  const dataId = { id };
  const size = shape.reduce((a, b) => a * b, 1);
  be.dataIdMap.set(dataId, { id, memoryOffset: byteOffset, shape, dtype: 'float32', refCount: 1 });
  be.wasm.tfjs.registerTensor(id, size, byteOffset);
  return { dataId, shape, dtype: 'float32' };
}

export function dropView(be: WasmBackendLike, view: tf.TensorInfo): void {
  // Unregistering runs the runtime's disposal callbacks (XNNPACK drops what it packed for this id).
  be.wasm.tfjs.disposeData(be.dataIdMap.get(view.dataId).id);
  be.dataIdMap.delete(view.dataId);
}

/** Row-major strides of `shape`, with 0 on axes of size 1 so that they broadcast against `target`. */
export function broadcastStrides(shape: number[], target: number[]): number[] {
  const padded = [...Array(target.length - shape.length).fill(1), ...shape];
  const strides = new Array(target.length).fill(0);
  let s = 1;
  for (let i = padded.length - 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 && target[i] !== 1 ? 0 : s;
    s *= padded[i];
  }
  return strides;
}

/**
 * tfjs's matmul batch broadcasting: for every batch index of the output (the broadcast of both batch shapes), the
 * index of the matrix it takes from `a` and from `b`.
 */
export function batchPairs(batchA: number[], batchB: number[], out: number[]): { a: Int32Array; b: Int32Array } {
  const total = out.reduce((x, y) => x * y, 1);
  const sa = broadcastStrides(batchA, out);
  const sb = broadcastStrides(batchB, out);
  const a = new Int32Array(total);
  const b = new Int32Array(total);
  const idx = new Array(out.length).fill(0);
  for (let i = 0; i < total; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < out.length; d++) {
      ia += idx[d] * sa[d];
      ib += idx[d] * sb[d];
    }
    a[i] = ia;
    b[i] = ib;
    for (let d = out.length - 1; d >= 0; d--) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return { a, b };
}
