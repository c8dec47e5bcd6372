export type { CheckpointDType, HostTensor, TensorSource } from './types.js';
export { CheckpointError, CheckpointFormatError, CheckpointKeyError, CheckpointDTypeError } from './errors.js';
export { type ByteReader, bytesReader, blobReader, fileReader, urlReader } from './byte_reader.js';
export { f16ToF32, f32ToF16, f32ToBf16, DTYPE_SIZE } from './dtypes.js';
export { SafetensorsReader, serializeSafetensors, saveSafetensors, type TensorToWrite } from './safetensors.js';
export { openCheckpoint, toByteReader, type CheckpointInput } from './open.js';
export { writeFileAtomic, staleTemporaries, PARTIAL_SUFFIX } from './atomic_file.js';
export { UnsafePickleError } from './errors.js';
export { TorchCheckpoint, type TorchLoadOptions } from './pytorch.js';
export { unpickle, unpickleAt, INERT_GLOBALS, type UnpickleOptions, type TensorRef, type StorageRef, type OpaqueObject, type BrokenTensor } from './pickle.js';
export { readZipDirectory, crc32, type ZipEntry } from './zip.js';
export { ShardedSafetensors } from './sharded.js';
export {
  STATE_DICT_WRAPPERS,
  unwrapStateDict,
  stripPrefix,
  addPrefix,
  renameByRules,
  chainKeyMaps,
  mapKeys,
  mapSourceKeys,
  type KeyMap,
  type RenameRule,
} from './state_dict.js';
