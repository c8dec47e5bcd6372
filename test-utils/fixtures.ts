// Where the golden data lives, and which fixture folders a data-driven suite runs.
// `fixtures/` at the repository root is the project's own byte-identical copy of the official golden outputs;
// `$IV2_EXTRA_FIXTURES`, when set, names one more folder with the same layout (`<kind>/<name>/…`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const FIXTURES = join(REPO_ROOT, 'fixtures');
export const MEDIA = join(FIXTURES, 'media');

export interface FixtureCase {
  /** `<kind>/<folder>` (with the root's name when it comes from `$IV2_EXTRA_FIXTURES`), used in test titles. */
  title: string;
  /** The folder's name, e.g. `iv2-tiny`. */
  name: string;
  /** Absolute path of the fixture folder. */
  dir: string;
  /** Which root it came from. */
  source: 'repo' | 'extra';
}

function roots(): { dir: string; source: 'repo' | 'extra' }[] {
  const out: { dir: string; source: 'repo' | 'extra' }[] = [{ dir: FIXTURES, source: 'repo' }];
  const extra = process.env.IV2_EXTRA_FIXTURES;
  if (extra) {
    const dir = resolve(extra);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new Error(`IV2_EXTRA_FIXTURES=${extra} is not a folder laid out like fixtures/`);
    }
    out.push({ dir, source: 'extra' });
  }
  return out;
}

/**
 * Every fixture folder of one kind (`encoder`, `text`, `llm`, `objectives`), from `fixtures/` and from
 * `$IV2_EXTRA_FIXTURES`. `filter` keeps the folders a suite understands (e.g. by a file inside, or by name).
 */
export function fixtureCases(kind: string, filter: (dir: string, name: string) => boolean = () => true): FixtureCase[] {
  const cases: FixtureCase[] = [];
  for (const { dir, source } of roots()) {
    const kindDir = join(dir, kind);
    if (!existsSync(kindDir)) continue;
    for (const name of readdirSync(kindDir).sort()) {
      const d = join(kindDir, name);
      if (!statSync(d).isDirectory() || !filter(d, name)) continue;
      const title = source === 'repo' ? `${kind}/${name}` : `${basename(dir)}:${kind}/${name}`;
      cases.push({ title, name, dir: d, source });
    }
  }
  return cases;
}
