import { mediaPath, readJsonList, validateEntries } from './parse.js';
import { instructionEntry } from './schemas.js';

export interface InstructionSample {
  mediaType: 'video' | 'image';
  media: string;
  qa: Array<{ i?: string; q: string; a: string }>;
  start?: number;
  end?: number;
  index: number;
}

/** Stage-3 instruction JSON (VideoChat2): `{video|image, QA: [{i, q, a}], start?, end?}`. */
export async function loadInstructionAnno(annoPath: string, opts: { dataRoot: string; dataRootPrefix?: string }): Promise<InstructionSample[]> {
  return validateEntries(annoPath, await readJsonList(annoPath), instructionEntry).map((e, index) => ({
    mediaType: e.video !== undefined ? 'video' : 'image',
    media: mediaPath((e.video ?? e.image)!, opts.dataRoot, opts.dataRootPrefix),
    qa: e.QA,
    start: e.start,
    end: e.end,
    index,
  }));
}
