import { type Stage2RunSpec } from './demo_config.js';
import { checkArch } from './manifest.js';

/** A training run definition that cannot be run: names the file and the field. */
export class RunSpecError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}: ${field}: ${reason}`);
    this.name = 'RunSpecError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const COLORS = ['red', 'green', 'blue', 'yellow'];
const SHAPES = ['circle', 'square', 'triangle'];
const MOTIONS = ['left', 'right', 'up', 'down'];

/**
 * Checks a run definition (what the page's training view downloads as `run.json`, or a file under
 * apps/cli/configs/): data, arch, vocabSize and train, every field present and in range.
 */
export function parseRunSpec(input: unknown, file = 'run.json'): Stage2RunSpec {
  const fail = (field: string, reason: string) => new RunSpecError(file, field, reason);
  let j = input;
  if (typeof j === 'string') {
    try {
      j = JSON.parse(j);
    } catch (e) {
      throw fail('(root)', `not JSON (${(e as Error).message})`);
    }
  }
  if (!isObj(j)) throw fail('(root)', 'not a JSON object');
  const int = (o: Record<string, unknown>, at: string, k: string, min: number) => {
    if (!Number.isInteger(o[k]) || (o[k] as number) < min) throw fail(`${at}.${k}`, `expected an integer ≥ ${min}, got ${JSON.stringify(o[k])}`);
  };
  const d = j.data;
  if (!isObj(d)) throw fail('data', 'expected { seed, clipsPerClass, size, numFrames }');
  int(d, 'data', 'seed', 0);
  int(d, 'data', 'clipsPerClass', 2);
  int(d, 'data', 'size', 8);
  int(d, 'data', 'numFrames', 1);
  for (const [k, allowed] of [['colors', COLORS], ['shapes', SHAPES], ['motions', MOTIONS]] as const) {
    const v = d[k];
    if (v !== undefined && !(Array.isArray(v) && v.length > 0 && v.every((x) => allowed.includes(x)))) throw fail(`data.${k}`, `expected a non-empty list of ${allowed.join(', ')}`);
  }
  const a = j.arch;
  if (!isObj(a)) throw fail('arch', 'expected { vision, text }');
  checkArch(a.vision, a.text, fail, 'arch.');
  if (a.vision.img_size !== d.size) throw fail('data.size', `${d.size} differs from arch.vision.img_size ${a.vision.img_size}`);
  if (a.vision.num_frames !== d.numFrames) throw fail('data.numFrames', `${d.numFrames} differs from arch.vision.num_frames ${a.vision.num_frames}`);
  if (!Number.isInteger(j.vocabSize) || (j.vocabSize as number) < 16) throw fail('vocabSize', `expected an integer ≥ 16, got ${JSON.stringify(j.vocabSize)}`);
  const t = j.train;
  if (!isObj(t)) throw fail('train', 'expected { seed, steps, batchSize, lr, warmupSteps, videoMaskRatio, evalEvery }');
  int(t, 'train', 'seed', 0);
  int(t, 'train', 'steps', 1);
  int(t, 'train', 'batchSize', 2);
  int(t, 'train', 'warmupSteps', 0);
  int(t, 'train', 'evalEvery', 0);
  if (!(typeof t.lr === 'number' && t.lr > 0 && t.lr < 1)) throw fail('train.lr', `expected a number in (0, 1), got ${JSON.stringify(t.lr)}`);
  if (!(typeof t.videoMaskRatio === 'number' && t.videoMaskRatio >= 0 && t.videoMaskRatio < 1)) throw fail('train.videoMaskRatio', `expected a number in [0, 1), got ${JSON.stringify(t.videoMaskRatio)}`);
  const classes = ((d.colors as unknown[]) ?? COLORS).length * ((d.shapes as unknown[]) ?? SHAPES).length * ((d.motions as unknown[]) ?? MOTIONS).length;
  const clips = classes * ((d.clipsPerClass as number) - 1);
  if ((t.batchSize as number) > clips) throw fail('train.batchSize', `${t.batchSize} exceeds the ${clips} training clips`);
  return j as unknown as Stage2RunSpec;
}
