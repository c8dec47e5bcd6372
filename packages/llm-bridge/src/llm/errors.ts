/** A `config.json` / `generation_config.json` field is missing, of the wrong type or unsupported. */
export class LlmConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(`${file}${field ? ` [${field}]` : ''}: ${message}`);
    this.name = 'LlmConfigError';
  }
}

/** A Hugging Face model folder lacks a file it needs, or holds one we cannot read. */
export class ModelFolderError extends Error {
  constructor(
    message: string,
    readonly dir: string,
    readonly file?: string,
  ) {
    super(`${dir}${file ? `/${file}` : ''}: ${message}`);
    this.name = 'ModelFolderError';
  }
}

/** The float32 weights would not fit the memory the backend can use. */
export class ModelTooLargeError extends Error {
  constructor(
    readonly dir: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
    readonly where: string,
  ) {
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    super(
      `${dir}: the model needs ${gib(neededBytes)} as float32 weights, but ${where} has ${gib(availableBytes)} available ` +
        `(pass { maxBytes } to override the check)`,
    );
    this.name = 'ModelTooLargeError';
  }
}

/** Generation arguments that cannot work together (no prompt, a mask of another length, a bad sampling value). */
export class GenerationError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'GenerationError';
  }
}

/** Inputs whose shapes do not fit the model (ids and embeddings both or neither, a mask of another length). */
export class DecoderInputError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'DecoderInputError';
  }
}
