// Forward speed of the released S/14 and B/14 shapes (8 × 224², random weights) per backend, beside the backend's
// own 1024² matmul and the machine's BLAS (numpy) measured in the same run. Usage: node bench/encoder_bench.mjs
// [--backends wasm,webgpu] [--models S,B] [--frames 8] [--size 224]
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '@iv2/core';
import { ARCHITECTURES, parseConfig, VideoEncoder } from '../dist/index.js';
import { blasGflops, table, timeIt } from '../../../scripts/bench_utils.mjs';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const backends = arg('backends', 'wasm,webgpu').split(',');
const models = arg('models', 'S,B').split(',');
const frames0 = arg('frames');
const size0 = arg('size');
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
  // WebGPU on the SwiftShader CPU driver needs many minutes per 8×224² clip: it runs 2×112² unless told otherwise.
  const software = backend === 'webgpu' && /swiftshader/i.test((await describeBackend()).adapter?.architecture ?? '');
  const frames = Number(frames0 ?? (software ? 2 : 8));
  const size = Number(size0 ?? (software ? 112 : 224));
  for (const m of models) {
    const config = { ...ARCHITECTURES[NAMES[m]].config, num_frames: frames, img_size: size };
    const enc = VideoEncoder.create({ config });
    const video = tf.randomNormal([1, 3, frames, size, size]);
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
    rows.push({ backend, model: `${m}/14`, input: `${frames}×${size}²`, 'clips/s': 1 / s, 'model GFLOP/s': flops / s / 1e9, 'matmul GFLOP/s': mm, 'BLAS GFLOP/s': blas, 'model/BLAS': flops / s / 1e9 / blas, 'peak MiB/clip': peak / 2 ** 20 });
    enc.dispose();
    video.dispose();
    console.error(table([rows[rows.length - 1]]));
  }
}
console.log(table(rows));
process.exit(0);
