/** Element types a checkpoint may hold, named as in safetensors. */
export type CheckpointDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A tensor on the host, already widened to a tfjs dtype (F16/BF16/F64 → float32, I64 → int32). */
export interface HostTensor {
  dtype: 'float32' | 'int32' | 'bool';
  /** PyTorch shape and layout, exactly as stored. */
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Lazy access to the tensors of a checkpoint file: nothing is read until `get`. */
export interface TensorSource {
  keys(): string[];
  has(key: string): boolean;
  /** Stored dtype and shape, from the header, without reading data. */
  info(key: string): { dtype: CheckpointDType; shape: number[] };
  get(key: string): Promise<HostTensor>;
  metadata?: Record<string, string>;
  close?(): Promise<void>;
}
