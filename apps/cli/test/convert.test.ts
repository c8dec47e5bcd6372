import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint, SafetensorsReader } from '@iv2/core';
import { expect, test } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const pth = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../packages/core/test/golden/torch_state.pth');

test('iv2 convert writes every tensor of a .pth to safetensors in its own dtype', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'iv2-convert-')), 'm.safetensors');
  const log = execFileSync(process.execPath, [main, 'convert', pth, out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  void log;
  const a = await openCheckpoint(pth);
  const b = await SafetensorsReader.open(out);
  expect(b.keys().sort()).toEqual(a.keys().sort());
  for (const k of a.keys()) {
    expect(b.info(k), k).toEqual(a.info(k));
    expect(Array.from((await b.get(k)).data), k).toEqual(Array.from((await a.get(k)).data));
  }
  await a.close();
  await b.close();
});
