// Per backend: GFLOP/s of a 1024² float32 matmul (plain and a·bᵀ) and of attention forward + backward (B=2, 12
// heads, N=2048, head dim 64), beside the machine's BLAS measured in the same run. wasm runs with its own kernels;
// wasm+native with @iv2/native. Usage: node bench/ops_bench.mjs [--backends cpu,wasm,wasm+native,webgpu]
import * as tf from '@tensorflow/tfjs-core';
import { attention, describeBackend, initBackend } from '../dist/index.js';
import { blasGflops, table, timeIt } from '../../../scripts/bench_utils.mjs';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const backends = arg('backends', 'cpu,wasm,wasm+native,webgpu').split(',');
// The pure-JS cpu backend and WebGPU on the SwiftShader CPU driver run the full size for many minutes; they get
// N=512 (stated in the table's N column).
const N_FOR = { cpu: 512 };


const blas = blasGflops();
const rows = [];
for (const label of backends) {
  const backend = label === 'wasm+native' ? 'wasm' : label;
  await initBackend(backend, backend === 'wasm' ? { native: label === 'wasm+native' } : {});
  if (label === 'wasm+native' && !(await describeBackend()).native?.active) {
    console.error(`wasm+native skipped: ${(await describeBackend()).native?.reason}`);
    continue;
  }
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const timeMatMul = (tb) => timeIt(async () => {
    const c = tf.matMul(a, b, false, tb);
    await c.data();
    c.dispose();
  }, backend === 'cpu' ? 1 : 5);
  const mm = await timeMatMul(false);
  const mmT = await timeMatMul(true);
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
    backend: label,
    'matmul 1024² GFLOP/s': mmG,
    'a·bᵀ 1024² GFLOP/s': (2 * 1024 ** 3) / mmT / 1e9,
    'attention N': n,
    'attn fwd GFLOP/s': fwdFlops / fwd / 1e9,
    'attn fwd+bwd GFLOP/s': (fwdFlops * 4) / fb / 1e9,
    'BLAS GFLOP/s': blas,
    'matmul / BLAS': mmG / blas,
  });
  console.error(`${label} done`);
}
console.log(table(rows));
process.exit(0);
