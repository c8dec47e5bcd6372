// A safetensors write killed with SIGKILL half-way leaves the previous file intact; its temporary file is
// recognisable and the next write to the same path removes it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { PARTIAL_SUFFIX, SafetensorsReader, saveSafetensors, staleTemporaries } from '../../src/checkpoint/index.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

test('kill -9 during a large write: the old file is intact, the temporary is removed by the next write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-atomic-'));
  const path = join(dir, 'model.safetensors');
  await saveSafetensors(path, [['old', { dtype: 'F32', shape: [3] }]], () => ({ dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) }));
  const before = sha(path);

  // 64 tensors of 4 MiB (256 MiB), produced slowly enough that the kill lands in the middle.
  const child = spawn(
    process.execPath,
    [
      '--import', here('./ts_register.mjs'), '--input-type=module', '-e',
      `import { saveSafetensors } from ${JSON.stringify(here('../../src/checkpoint/safetensors.ts'))};
       const keys = Array.from({ length: 64 }, (_, i) => ['t' + String(i).padStart(2, '0'), { dtype: 'F32', shape: [1 << 20] }]);
       await saveSafetensors(${JSON.stringify(path)}, keys, async () => {
         await new Promise((r) => setTimeout(r, 30));
         return { dtype: 'float32', shape: [1 << 20], data: new Float32Array(1 << 20).fill(7) };
       });
       console.log('finished');`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const partial = () => readdirSync(dir).filter((f) => f.endsWith(PARTIAL_SUFFIX));
  // Wait until the temporary file holds some of the tensors, then kill the writer.
  const t0 = Date.now();
  for (;;) {
    const p = partial();
    if (p.length && statSync(join(dir, p[0])).size > 16 << 20) break;
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`writer ended or never wrote: ${stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  const { signal } = await exited;
  expect(signal).toBe('SIGKILL');

  // The previous file is untouched and still reads; the killed write left its (recognisable) temporary file.
  expect(sha(path)).toBe(before);
  expect(Array.from((await SafetensorsReader.open(path).then((r) => r.get('old'))).data)).toEqual([1, 2, 3]);
  const left = partial();
  expect(left).toHaveLength(1);
  expect(left[0]).toMatch(new RegExp(`^\\.model\\.safetensors\\.${child.pid}\\.[0-9a-z]+\\.iv2-partial$`));
  expect(statSync(join(dir, left[0])).size).toBeGreaterThan(16 << 20);
  expect(await staleTemporaries(path)).toEqual([join(dir, left[0])]);

  // The next write to the same path removes it, and writes the new content.
  await saveSafetensors(path, [['new', { dtype: 'F32', shape: [1] }]], () => ({ dtype: 'float32', shape: [1], data: new Float32Array([5]) }));
  expect(partial()).toEqual([]);
  expect(readdirSync(dir)).toEqual(['model.safetensors']);
  expect((await SafetensorsReader.open(path)).keys()).toEqual(['new']);
}, 120_000);

test('a write that fails removes its own temporary file and keeps the previous content', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-atomic-'));
  const path = join(dir, 'a.safetensors');
  await saveSafetensors(path, [['x', { dtype: 'F32', shape: [1] }]], () => ({ dtype: 'float32', shape: [1], data: new Float32Array([1]) }));
  const before = sha(path);
  const err = await saveSafetensors(path, [['x', { dtype: 'F32', shape: [2] }]], () => ({ dtype: 'float32', shape: [1], data: new Float32Array([1]) })).catch((e) => e);
  expect(err.message).toMatch(/declared F32 \[2\]/);
  expect(readdirSync(dir)).toEqual(['a.safetensors']);
  expect(sha(path)).toBe(before);
});
