import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

test('iv2 demo writes the synthetic dataset, embeds every clip and scores the held-out split', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-demo-test-'));
  const out = execFileSync(process.execPath, [main, 'demo', '--dir', dir, '--backend', 'wasm', '--json'], { encoding: 'utf8', timeout: 180_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  expect(r).toMatchObject({ backend: 'wasm', clips: 36, classes: 12 });
  expect(r.chance).toBeCloseTo(1 / 12);
  for (const k of ['top1', 'colorAcc', 'motionAcc']) expect(r[k]).toBeGreaterThanOrEqual(0);
  expect(r.clipsPerSecond).toBeGreaterThan(0);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  expect(existsSync(join(dir, manifest.files.retrieval.test))).toBe(true);
  expect(out).toMatch(/^backend\s+wasm/m);
}, 200_000);
