import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { TINY, tinyConfig } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const pkgDir = (name: string) => resolve(here, '../..', name);

// What a user does: `npm install @iv2/encoder` in an empty project, then embed a video with official weights.
test('@iv2/core + @iv2/encoder packed, installed with npm into an empty folder, load weights and embed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-pack-'));
  for (const p of ['core', 'encoder']) {
    execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: pkgDir(p), stdio: 'pipe' });
  }
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toHaveLength(2);
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.map((t) => join(dir, t))], { cwd: app, stdio: 'pipe' });
  writeFileSync(
    join(app, 'embed.mjs'),
    `import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
await initBackend('wasm');
const enc = await VideoEncoder.fromPretrained(${JSON.stringify(resolve(TINY, 'weights.safetensors'))}, { config: ${JSON.stringify(tinyConfig())} });
const z = enc.embed(tf.ones([1, 3, 4, 56, 56]));
console.log(JSON.stringify({ shape: z.shape, finite: (await z.data()).every(Number.isFinite), loaded: enc.loadReport.loaded.length }));
`,
  );
  const out = JSON.parse(execFileSync(process.execPath, ['embed.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n').pop()!);
  expect(out).toEqual({ shape: [1, 32], finite: true, loaded: 70 });
}, 240_000);
