// Writes a 2 GB safetensors file, reads it back tensor by tensor and saves it again, and reports the process's
// peak resident memory (it must stay far below the file size). Usage: node bench/checkpoint_memory.mjs [--gb 2]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader, saveSafetensors } from '../dist/index.js';
import { table } from '../../../scripts/bench_utils.mjs';

const gbAt = process.argv.indexOf('--gb');
const gb = gbAt > 0 ? Number(process.argv[gbAt + 1]) : 2;
const dir = mkdtempSync(join(tmpdir(), 'iv2-ckpt-bench-'));
const src = join(dir, 'big.safetensors');
const out = join(dir, 'copy.safetensors');
const tensorMb = 64;
const n = Math.round((gb * 1024) / tensorMb);
const shape = [tensorMb * 1024 * 256];
const entries = Array.from({ length: n }, (_, i) => [`layer.${String(i).padStart(4, '0')}.weight`, { dtype: 'F32', shape }]);
const rssMb = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
};
let t = performance.now();
await saveSafetensors(src, entries, (key) => {
  const data = new Float32Array(shape[0]).fill(Number(key.slice(6, 10)));
  return { dtype: 'float32', shape, data };
});
const writeS = (performance.now() - t) / 1000;
t = performance.now();
const r = await SafetensorsReader.open(src);
await saveSafetensors(out, r.keys().map((k) => [k, r.info(k)]), async (k) => r.getRaw(k), r.metadata);
await r.close();
const copyS = (performance.now() - t) / 1000;
const size = statSync(out).size / 2 ** 30;
console.log(table([{ 'file GiB': size, tensors: n, 'write s': writeS, 'read+write s': copyS, 'peak RSS MiB': rssMb() }]));
rmSync(dir, { recursive: true, force: true });
