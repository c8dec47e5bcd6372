// fixtures/ is a byte-identical copy of the golden data kept beside the repository on the machines that produce it
// (`<repo>/../shared/fixtures`). Where that folder exists, every copied file must still match it and every file
// added there must have been copied; in a plain clone the folder is absent and nothing here runs.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, REPO_ROOT } from './fixtures_path.js';

const UPSTREAM = resolve(REPO_ROOT, '..', 'shared', 'fixtures');

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe.runIf(existsSync(UPSTREAM))('fixtures/ is byte-identical to the golden data it was copied from', () => {
  test('every file there has a copy here', () => {
    const missing = files(UPSTREAM).filter((f) => !existsSync(join(FIXTURES, f)));
    expect(missing, `copy these into fixtures/: ${missing.join(', ')}`).toEqual([]);
  });

  test('every copied file has the same bytes', () => {
    const differ = files(FIXTURES).filter((f) => existsSync(join(UPSTREAM, f)) && sha(join(FIXTURES, f)) !== sha(join(UPSTREAM, f)));
    expect(differ).toEqual([]);
  });
});
