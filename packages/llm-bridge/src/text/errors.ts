/** A forward call got inputs that do not fit the model (shape, dtype, a missing tensor); `field` names the input. */
export class BertInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`bert input ${field}: ${reason}`);
    this.name = 'BertInputError';
  }
}

/**
 * A checkpoint does not fit the configured model: keys the model needs are absent, or shapes differ (e.g. a
 * BERT-base config given for a BERT-large checkpoint). Every offending key is listed, under the file's names.
 */
export class TextCheckpointMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly missing: string[],
    readonly mismatched: Array<{ key: string; expected: number[]; got: number[] }>,
  ) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.length} key(s): ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`);
    if (mismatched.length) parts.push(`shape mismatch: ${mismatched.map((m) => `${m.key} [${m.got}] vs model [${m.expected}]`).join(', ')}`);
    super(`${file}: checkpoint does not fit the model: ${parts.join('; ')}`);
    this.name = 'TextCheckpointMismatchError';
  }
}

/** No key of the checkpoint looks like the part asked for under any known prefix. */
export class TextWeightsNotFoundError extends Error {
  constructor(
    readonly file: string,
    readonly probe: string,
    readonly prefixes: string[],
  ) {
    super(`${file}: no '${probe}' under any of the prefixes ${prefixes.map((p) => `'${p}'`).join(', ')}`);
    this.name = 'TextWeightsNotFoundError';
  }
}
