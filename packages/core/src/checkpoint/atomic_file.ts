import type { FileHandle } from 'node:fs/promises';

/**
 * Temporary files of an atomic write are named `.<name>.<pid>.<random>.iv2-partial`, beside the target. A write
 * killed before its rename leaves one behind; the next write to the same path removes those whose process is gone.
 */
export const PARTIAL_SUFFIX = '.iv2-partial';

const active = new Set<string>();

function partialPattern(base: string): RegExp {
  return new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-z]+\\${PARTIAL_SUFFIX}$`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Leftover temporaries of earlier writes to `path` whose writer no longer runs (killed, crashed). */
export async function staleTemporaries(path: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const { basename, dirname, join } = await import('node:path');
  const dir = dirname(path);
  const re = partialPattern(basename(path));
  const out: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = re.exec(name);
    if (!m) continue;
    const full = join(dir, name);
    const pid = Number(m[1]);
    if (active.has(full) || (pid !== process.pid && alive(pid))) continue;
    out.push(full);
  }
  return out;
}

/**
 * Writes `path` atomically: leftovers of killed writes to the same path are removed, the bytes go to a temporary
 * file in the same folder, which is fsynced and renamed over `path`, and the folder is fsynced so that the rename
 * itself survives a crash. Until the rename, `path` keeps its previous content; on an error the temporary file is
 * removed.
 */
export async function writeFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  for (const stale of await staleTemporaries(path)) await fs.rm(stale, { force: true });
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}${PARTIAL_SUFFIX}`);
  active.add(tmp);
  const fh = await fs.open(tmp, 'wx');
  try {
    await write(fh);
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    active.delete(tmp);
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const fs = await import('node:fs/promises');
  let d: FileHandle | undefined;
  try {
    d = await fs.open(dir, 'r');
    await d.sync();
  } catch (e) {
    // Windows cannot open or fsync a folder; everywhere else this is a real failure.
    if (process.platform !== 'win32') throw e;
  } finally {
    await d?.close();
  }
}
