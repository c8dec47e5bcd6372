import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsReader } from '@iv2/core';
import { expect, test } from 'vitest';
import { MEDIA } from '../../../test-utils/fixtures.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const clip = join(MEDIA, 'example1.mp4');
const small = JSON.stringify({ img_size: 56, embed_dim: 64, depth: 2, num_heads: 4, attn_pool_num_heads: 4, clip_embed_dim: 32, num_frames: 4, mlp_ratio: 4 });

test('iv2 extract writes one embedding per window, to JSONL and to safetensors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-cli-'));
  const run = (out: string) =>
    execFileSync(process.execPath, [main, 'extract', clip, '--random', '--config', small, '--window', '2', '--stride', '2', '--batch', '2', '--backend', 'cpu', '--out', out], { encoding: 'utf8' });
  run(join(dir, 'f.jsonl'));
  const lines = readFileSync(join(dir, 'f.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.start, l.end])).toEqual([[0, 2], [2, 4], [4, 6], [6, 8]]);
  // 10 frames per window, official middle sampling: edges 0,2,5,7,10 → ⌊(a+b−1)/2⌋.
  expect(lines[0].frames).toEqual([0, 3, 5, 8]);
  expect(lines[0].embedding).toHaveLength(32);
  run(join(dir, 'f.safetensors'));
  const r = await SafetensorsReader.open(join(dir, 'f.safetensors'));
  const t = await r.get('embeddings');
  expect(t.shape).toEqual([4, 32]);
  expect(Array.from(t.data.slice(0, 32)).map((v) => Math.round(v * 1e4))).toEqual(lines[0].embedding.map((v: number) => Math.round(v * 1e4)));
  expect(JSON.parse(r.metadata.windows)).toHaveLength(4);
  await r.close();
});

test('iv2 extract without weights says what to pass', () => {
  let err = '';
  try {
    execFileSync(process.execPath, [main, 'extract', clip, '--backend', 'cpu'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    err = String((e as { stderr: string }).stderr);
  }
  expect(err).toMatch(/--weights .*--random/);
});
