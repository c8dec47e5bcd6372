import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What `meta.json` of a complete checkpoint holds. */
export interface CheckpointMeta {
  step: number;
  stage: string;
  /** Files of the checkpoint, relative to its folder. */
  files: string[];
  time: string;
  [k: string]: unknown;
}

export interface CheckpointInfo {
  dir: string;
  step: number;
  meta: CheckpointMeta;
}

const NAME = /^step-(\d{8})$/;
const TMP = /^\.tmp-step-\d{8}-\d+$/;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes text to `path` and flushes it to disk before returning. */
async function writeDurable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Checkpoints under `<output_dir>/checkpoints/step-XXXXXXXX/`, each written whole or not at all: files go into a
 * hidden temporary folder, `meta.json` last, everything fsynced, then one rename publishes it. A process killed
 * mid-write leaves only a `.tmp-…` folder, which the next run removes; the previous checkpoint is untouched.
 * Only the newest `keepLast` are kept.
 */
export class CheckpointManager {
  constructor(
    readonly dir: string,
    readonly keepLast = 3,
  ) {}

  /** Complete checkpoints, oldest first. */
  list(): CheckpointInfo[] {
    if (!existsSync(this.dir)) return [];
    const out: CheckpointInfo[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = NAME.exec(name);
      if (!m) continue;
      const dir = join(this.dir, name);
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as CheckpointMeta;
        if (meta.files.every((f) => existsSync(join(dir, f)))) out.push({ dir, step: Number(m[1]), meta });
      } catch {
        // no meta.json: not a complete checkpoint
      }
    }
    return out.sort((a, b) => a.step - b.step);
  }

  latest(): CheckpointInfo | undefined {
    return this.list().at(-1);
  }

  /** Removes temporary folders left by runs that were killed while writing. */
  cleanStale(): string[] {
    if (!existsSync(this.dir)) return [];
    const stale = readdirSync(this.dir).filter((n) => TMP.test(n));
    for (const n of stale) rmSync(join(this.dir, n), { recursive: true, force: true });
    return stale;
  }

  /**
   * Writes checkpoint `step`: `write(tmpDir)` writes its files there (and returns their names), then meta.json is
   * written and the folder renamed into place.
   */
  async save(step: number, stage: string, write: (tmpDir: string) => Promise<string[]>, extra: Record<string, unknown> = {}): Promise<CheckpointInfo> {
    await mkdir(this.dir, { recursive: true });
    const name = `step-${String(step).padStart(8, '0')}`;
    const tmp = join(this.dir, `.tmp-${name}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const files = await write(tmp);
    const pause = Number(process.env.IV2_TEST_CHECKPOINT_PAUSE_MS ?? 0);
    if (pause > 0) {
      // Test hook: a window in which the checkpoint is half written (used by the kill -9 test).
      process.stderr.write(`checkpoint ${name}: writing\n`);
      await new Promise((r) => setTimeout(r, pause));
    }
    const meta: CheckpointMeta = { step, stage, files, time: new Date().toISOString(), ...extra };
    await writeDurable(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
    fsyncDir(tmp);
    const final = join(this.dir, name);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    fsyncDir(this.dir);
    for (const old of this.list().slice(0, -this.keepLast)) await rm(old.dir, { recursive: true, force: true });
    return { dir: final, step, meta };
  }
}

/** A checkpoint folder, or a run's output folder (its newest checkpoint). */
export function resolveCheckpoint(path: string): CheckpointInfo | undefined {
  if (existsSync(join(path, 'meta.json'))) {
    const meta = JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8')) as CheckpointMeta;
    return { dir: path, step: meta.step, meta };
  }
  for (const d of [join(path, 'checkpoints'), path]) {
    const c = new CheckpointManager(d).latest();
    if (c) return c;
  }
  return undefined;
}
