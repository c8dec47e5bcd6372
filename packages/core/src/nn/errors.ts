/** A state dict does not fit a module: every offending key is listed. */
export class StateDictMismatchError extends Error {
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: Array<{ key: string; expected: number[]; got: number[] }>,
    readonly source = '<state dict>',
  ) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
    if (mismatched.length) {
      parts.push(
        `shape mismatches (${mismatched.length}): ${mismatched
          .map((m) => `${m.key} expected [${m.expected}] got [${m.got}]`)
          .join(', ')}`,
      );
    }
    super(`${source}: state dict does not match the module: ${parts.join('; ')}`);
    this.name = 'StateDictMismatchError';
  }
}
