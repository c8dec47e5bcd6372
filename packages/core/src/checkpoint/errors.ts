/** Base of every checkpoint error: `file` names the checkpoint, `key` the tensor when one is involved. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(`${file}${key ? ` [${key}]` : ''}: ${message}`);
    this.name = new.target.name;
  }
}

/** The bytes do not follow the format (truncated, bad header, bad offsets, size/shape mismatch). */
export class CheckpointFormatError extends CheckpointError {}

/** A key asked for is not in the checkpoint. */
export class CheckpointKeyError extends CheckpointError {}

/** A value cannot be represented in tfjs (an int64 outside int32, an unsupported dtype). */
export class CheckpointDTypeError extends CheckpointError {}

/** A pickle asks for a global outside the allow-list; nothing from the file is ever executed. */
export class UnsafePickleError extends CheckpointError {
  constructor(
    file: string,
    readonly global: string,
    readonly offset: number,
  ) {
    super(`pickle refers to '${global}' at byte ${offset}: refused (only tensors, storages and plain containers are read)`, file);
  }
}
