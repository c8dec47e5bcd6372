/** A configuration that does not validate; `field` is the official hyper-parameter name. */
export class ObjectiveConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`objective config: ${field}: ${reason}`);
    this.name = 'ObjectiveConfigError';
  }
}

/** A batch tensor with the wrong rank, shape or dtype; `field` names it (`video`, `input_ids`, …). */
export class BatchShapeError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`batch: ${field}: ${reason}`);
    this.name = 'BatchShapeError';
  }
}

/** A teacher output that the objective needs is absent or has the wrong shape (`field`: `middle`, `attn`, …). */
export class TeacherOutputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`teacher output: ${field}: ${reason}`);
    this.name = 'TeacherOutputError';
  }
}

/** A precomputed-feature file lacks a key (or holds it with the wrong shape). */
export class TeacherFeatureError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${file}: ${key}: ${reason}`);
    this.name = 'TeacherFeatureError';
  }
}

/** A replayed random draw that was not recorded, or that has another shape than the call asks for. */
export class DrawReplayError extends Error {
  constructor(
    readonly draw: string,
    readonly reason: string,
  ) {
    super(`draw.${draw}: ${reason}`);
    this.name = 'DrawReplayError';
  }
}

/** Evaluation inputs that do not fit together (`field`: `txt2vid`, `sim`, …). */
export class EvaluationInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`evaluation: ${field}: ${reason}`);
    this.name = 'EvaluationInputError';
  }
}
