import { readFile } from 'node:fs/promises';
import { AnnotationError } from '../errors.js';

/** One line of a stage-1 list file: `source path total_time start_time end_time label`. */
export interface Stage1Sample {
  source: string;
  path: string;
  totalTime: number;
  /** Seconds; −1 = whole video. */
  startTime: number;
  endTime: number;
  label: string;
  /** The official pipeline turns flipping off for SSv2 (direction-sensitive classes). */
  flip: boolean;
  line: number;
}

const FIELDS = ['source', 'path', 'total_time', 'start_time', 'end_time', 'label'] as const;

/** Stage-1 list (`mae_multi.py`), fields separated by `split` (default a space), paths joined with `prefix`. */
export async function loadStage1List(file: string, opts: { prefix?: string; split?: string } = {}): Promise<Stage1Sample[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AnnotationError(file, null, null, `cannot read the file (${(e as Error).message})`);
  }
  const split = opts.split ?? ' ';
  const out: Stage1Sample[] = [];
  text.split(/\r?\n/).forEach((raw, line) => {
    if (raw.trim() === '') return;
    const f = raw.split(split);
    if (f.length < FIELDS.length) {
      throw new AnnotationError(file, line, FIELDS[f.length], `expected ${FIELDS.length} fields separated by ${JSON.stringify(split)}, got ${f.length}`);
    }
    const num = (k: 2 | 3 | 4) => {
      const v = Number(f[k]);
      if (!Number.isFinite(v)) throw new AnnotationError(file, line, FIELDS[k], `not a number: ${JSON.stringify(f[k])}`);
      return v;
    };
    const [totalTime, startTime, endTime] = [num(2), num(3), num(4)];
    if (startTime >= 0 && endTime >= 0 && endTime <= startTime) {
      throw new AnnotationError(file, line, 'end_time', `ends (${endTime}) at or before start_time (${startTime})`);
    }
    const prefix = opts.prefix ?? '';
    out.push({
      source: f[0],
      path: prefix ? `${prefix.replace(/\/$/, '')}/${f[1]}` : f[1],
      totalTime,
      startTime,
      endTime,
      label: f.slice(5).join(split),
      flip: f[0] !== 'ssv2',
      line,
    });
  });
  return out;
}
