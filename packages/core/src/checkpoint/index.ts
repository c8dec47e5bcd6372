export type { CheckpointDType, HostTensor, TensorSource } from './types.js';
export { CheckpointError, CheckpointFormatError, CheckpointKeyError, CheckpointDTypeError } from './errors.js';
export { type ByteReader, bytesReader, blobReader, fileReader } from './byte_reader.js';
export { f16ToF32, f32ToF16, f32ToBf16, DTYPE_SIZE } from './dtypes.js';
export { SafetensorsReader, serializeSafetensors, saveSafetensors, type TensorToWrite } from './safetensors.js';
export { openCheckpoint, toByteReader, type CheckpointInput } from './open.js';
