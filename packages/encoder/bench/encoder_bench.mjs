// Forward speed of the released S/14 and B/14 shapes (8 × 224², random weights) per backend, beside the backend's
// own 1024² matmul and the machine's BLAS (numpy) measured in the same run. Usage: node bench/encoder_bench.mjs
// [--backends wasm,webgpu] [--models S,B] [--frames 8]
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@iv2/core';
import { ARCHITECTURES, parseConfig, VideoEncoder } from '../dist/index.js';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const backends = arg('backends', 'wasm,webgpu').split(',');
const models = arg('models', 'S,B').split(',');
const frames = Number(arg('frames', '8'));
const NAMES = { S: 'internvideo2_small_patch14_224', B: 'internvideo2_base_patch14_224' };

/** Multiply-adds × 2 of one forward (patch embed, blocks, attention pool). */
function modelFlops(c) {
  const n = 1 + (c.num_frames / c.tubelet_size) * (c.img_size / c.patch_size) ** 2;
  const C = c.embed_dim;
  const hd = Math.trunc(C * c.mlp_ratio);
  const block = 2 * n * C * 3 * C + 2 * 2 * n * n * C + 2 * n * C * C + 2 * 2 * n * C * hd;
  const patch = 2 * (n - 1) * 3 * c.patch_size ** 2 * C;
  const pool = 2 * 2 * n * C * C + 2 * C * C + 2 * 2 * n * C + 2 * C * c.clip_embed_dim;
  return c.depth * block + patch + pool;
}

function blasGflops() {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      const out = execFileSync(py, ['-c', `
import numpy as np, time
a = np.random.rand(2048, 2048).astype(np.float32); b = np.random.rand(2048, 2048).astype(np.float32)
a @ b
t = time.perf_counter(); n = 5
for _ in range(n): a @ b
print(2 * 2048**3 * n / (time.perf_counter() - t) / 1e9)`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return Number(out.trim());
    } catch {}
  }
  return NaN;
}

async function timeIt(fn, iters) {
  await fn(); // warm-up: shader compilation, wasm page growth
  const t = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return (performance.now() - t) / 1000 / iters;
}

async function matmulGflops() {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const s = await timeIt(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, 5);
  tf.dispose([a, b]);
  return (2 * 1024 ** 3) / s / 1e9;
}

const blas = blasGflops();
const rows = [];
for (const backend of backends) {
  await initBackend(backend);
  const mm = await matmulGflops();
  for (const m of models) {
    const config = { ...ARCHITECTURES[NAMES[m]].config, num_frames: frames };
    const enc = VideoEncoder.create({ config });
    const video = tf.randomNormal([1, 3, frames, 224, 224]);
    const flops = modelFlops(parseConfig(config));
    let peak = 0;
    const s = await timeIt(async () => {
      const prof = await tf.profile(async () => {
        const z = enc.embed(video);
        await z.data();
        z.dispose();
      });
      peak = Math.max(peak, prof.peakBytes);
    }, 1);
    rows.push({ backend, model: `${m}/14`, frames, 'clips/s': 1 / s, 'model GFLOP/s': flops / s / 1e9, 'matmul GFLOP/s': mm, 'BLAS GFLOP/s': blas, 'model/BLAS': flops / s / 1e9 / blas, 'peak MiB/clip': peak / 2 ** 20 });
    enc.dispose();
    video.dispose();
    console.error(`${backend} ${m}/14: ${(1 / s).toFixed(3)} clips/s`);
  }
}
const cols = Object.keys(rows[0]);
const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : v);
console.log(`| ${cols.join(' | ')} |\n| ${cols.map(() => '---').join(' | ')} |`);
for (const r of rows) console.log(`| ${cols.map((c) => fmt(r[c])).join(' | ')} |`);
process.exit(0);
