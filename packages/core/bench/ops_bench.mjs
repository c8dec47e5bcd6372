// Per backend: GFLOP/s of a 1024² float32 matmul and of attention forward + backward (B=2, 12 heads, N=2048,
// head dim 64), beside the machine's BLAS measured in the same run. Usage: node bench/ops_bench.mjs [--backends …]
import * as tf from '@tensorflow/tfjs-core';
import { attention, describeBackend, initBackend } from '../dist/index.js';
import { blasGflops, table, timeIt } from '../../../scripts/bench_utils.mjs';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const backends = arg('backends', 'cpu,wasm,webgpu').split(',');
// The pure-JS cpu backend and WebGPU on the SwiftShader CPU driver run the full size for many minutes; they get
// N=512 (stated in the table's N column).
const N_FOR = { cpu: 512 };


const blas = blasGflops();
const rows = [];
for (const backend of backends) {
  await initBackend(backend);
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const mm = await timeIt(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, backend === 'cpu' ? 1 : 5);
  tf.dispose([a, b]);
  const software = backend === 'webgpu' && /swiftshader/i.test((await describeBackend()).adapter?.architecture ?? '');
  const n = software ? 512 : (N_FOR[backend] ?? 2048);
  const [B, H, D] = [2, 12, 64];
  const q = tf.randomNormal([B, H, n, D]);
  const k = tf.randomNormal([B, H, n, D]);
  const v = tf.randomNormal([B, H, n, D]);
  const f = (q_, k_, v_) => tf.sum(attention(q_, k_, v_));
  const fwd = await timeIt(async () => {
    const o = attention(q, k, v);
    await o.data();
    o.dispose();
  }, 1);
  const fb = await timeIt(async () => {
    const gs = tf.grads(f)([q, k, v]);
    await gs[0].data();
    tf.dispose(gs);
  }, 1);
  tf.dispose([q, k, v]);
  // forward: QKᵀ and PV, 2·2·B·H·N²·D; backward: four more such products (dV, dP, dQ, dK) plus recomputing P.
  const fwdFlops = 4 * B * H * n * n * D;
  const mmG = (2 * 1024 ** 3) / mm / 1e9;
  rows.push({
    backend,
    'matmul 1024² GFLOP/s': mmG,
    'attention N': n,
    'attn fwd GFLOP/s': fwdFlops / fwd / 1e9,
    'attn fwd+bwd GFLOP/s': (fwdFlops * 4) / fb / 1e9,
    'BLAS GFLOP/s': blas,
    'matmul / BLAS': mmG / blas,
  });
  console.error(`${backend} done`);
}
console.log(table(rows));
process.exit(0);
