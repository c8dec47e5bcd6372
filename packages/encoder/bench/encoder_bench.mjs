// Speed and memory of the encoder per backend, beside the machine's BLAS (numpy) measured in the same run:
// forward of the released S/14 and B/14 shapes (8 × 224², random weights) and a training step (B/14 at 4 × 224²:
// forward, backward, AdamW). The training step runs batch 2 with all 12 blocks checkpointed (the official
// use_checkpoint / checkpoint_num: a block keeps only its input and runs its forward again in backward): without
// checkpointing, batch 2's saved activations, weights, gradients and AdamW moments exceed the 4 GiB a wasm32 heap
// can address (batch 1 already peaks at ~4.0 GiB). --checkpoint N checkpoints the first N blocks (0 = none; the
// default is all blocks at batch ≥ 2, none at batch 1). Model FLOPs stay 3 × forward: the recompute is overhead, not counted.
// Backends: wasm (its own kernels: XNNPACK, on tfjs-wasm's threaded build in Node), wasm+native (@iv2/native's OpenBLAS GEMM and fused attention) and
// webgpu. Each measurement runs in a fresh process, so peak memory is its own. Beside them, the official PyTorch
// model on the CPU (bench/torch_reference.py, checkpointing the same blocks) when python3 has torch and the official
// source is at hand (--official DIR or $IV2_OFFICIAL_REPO: a checkout of github.com/OpenGVLab/InternVideo).
// Times are the best of --reps iterations after a warm-up. Usage: node bench/encoder_bench.mjs
// [--backends wasm,wasm+native,webgpu,pytorch] [--jobs fwd-S,fwd-B,train-B] [--frames 8] [--size 224] [--batch N]
// [--checkpoint N] [--threads N] [--reps 1] [--official DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blasGflops, table } from '../../../scripts/bench_utils.mjs';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const NAMES = { S: 'internvideo2_small_patch14_224', B: 'internvideo2_base_patch14_224' };

/** Multiply-adds × 2 of one forward (patch embed, blocks, attention pool) of one clip. */
function modelFlops(c) {
  const n = 1 + (c.num_frames / c.tubelet_size) * (c.img_size / c.patch_size) ** 2;
  const C = c.embed_dim;
  const hd = Math.trunc(C * c.mlp_ratio);
  const block = 2 * n * C * 3 * C + 2 * 2 * n * n * C + 2 * n * C * C + 2 * 2 * n * C * hd;
  const patch = 2 * (n - 1) * 3 * c.patch_size ** 2 * C;
  const pool = 2 * 2 * n * C * C + 2 * C * C + 2 * 2 * n * C + 2 * C * c.clip_embed_dim;
  return c.depth * block + patch + pool;
}

// ---- one measurement, in a child process ----
async function child(spec) {
  const tf = await import('@tensorflow/tfjs-core');
  const { AdamW, describeBackend, gradsByName, initBackend, paramGroups, wasmElementwiseCounts, wasmMatMulCounts } = await import('@iv2/core');
  const { ARCHITECTURES, parseConfig, VideoEncoder } = await import('../dist/index.js');
  const backend = spec.backend === 'wasm+native' ? 'wasm' : spec.backend;
  // Pure wasm in Node runs tfjs-wasm's threaded build (XNNPACK on every core; --threads sets its pool too).
  await initBackend(backend, backend === 'wasm' ? { native: spec.backend === 'wasm+native' && (spec.threads ? { threads: spec.threads } : true), ...(spec.threads ? { wasmThreads: spec.threads } : {}) } : {});
  const desc = await describeBackend();
  if (spec.backend === 'wasm+native' && !desc.native?.active) throw new Error(`@iv2/native is not active: ${desc.native?.reason}`);
  const software = backend === 'webgpu' && /swiftshader/i.test(desc.adapter?.architecture ?? '');
  // WebGPU on the SwiftShader CPU driver needs many minutes per 8×224² clip: it runs 2×112² unless told otherwise.
  const frames = Number(spec.frames ?? (software ? 2 : spec.train ? 4 : 8));
  const size = Number(spec.size ?? (software ? 112 : 224));
  const batch = spec.batch;
  const ck = spec.train ? spec.checkpoint : 0;
  const config = { ...ARCHITECTURES[NAMES[spec.model]].config, num_frames: frames, img_size: size, use_checkpoint: ck > 0, checkpoint_num: ck };
  const enc = VideoEncoder.create({ config });
  if (spec.train) enc.model.train(); // as PyTorch's model.train(); checkpointing only acts in training
  const video = tf.randomNormal([batch, 3, frames, size, size]);
  const params = enc.model.parameters({ trainable: true });
  const opt = spec.train ? new AdamW(paramGroups(params, { weightDecay: 0.05 }), { lr: 1e-4 }) : null;
  const run = async () => {
    if (!spec.train) {
      const z = enc.embed(video);
      await z.data();
      z.dispose();
      return;
    }
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(enc.embed(video))));
    opt.apply(gradsByName(params, grads));
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const n0 = tf.memory().numTensors;
  await run(); // warm-up: heap growth, XNNPACK weight packing, shader compilation
  const counts0 = { ...wasmMatMulCounts };
  const ew0 = { ...(wasmElementwiseCounts ?? {}) };
  let secs = Infinity;
  let prof;
  for (let i = 0; i < spec.reps; i++) {
    const t = performance.now();
    const p = await tf.profile(run);
    const s = (performance.now() - t) / 1000;
    if (s < secs) [secs, prof] = [s, p];
  }
  const perOp = {};
  for (const k of prof.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    perOp[k.name] = (perOp[k.name] ?? 0) + ms / 1000;
  }
  const flops = modelFlops(parseConfig(config)) * batch * (spec.train ? 3 : 1);
  const leaked = tf.memory().numTensors - n0 - (opt ? 2 * params.length : 0); // AdamW keeps m and v per parameter
  const heap = backend === 'wasm' ? tf.backend().wasm.HEAPU8.buffer.byteLength : 0;
  const mm = Object.fromEntries(Object.keys(counts0).map((k) => [k, (wasmMatMulCounts[k] - counts0[k]) / spec.reps]));
  const ew = Object.fromEntries(Object.keys(ew0).map((k) => [k, (wasmElementwiseCounts[k] - ew0[k]) / spec.reps]));
  return {
    secs, flops, frames, size, batch, perOp, leaked, mm, ew,
    peakTensorMiB: prof.peakBytes / 2 ** 20, heapMiB: heap / 2 ** 20,
    maxRssMiB: process.resourceUsage().maxRSS / 1024, native: desc.native,
    threads: desc.native?.active ? `addon ${desc.native.threads}` : desc.wasm ? `XNNPACK ${desc.wasm.xnnpackThreads ?? 1}` : undefined,
  };
}

if (process.argv.includes('--child')) {
  const spec = JSON.parse(arg('child'));
  const r = await child(spec);
  process.stdout.write(`\n@@${JSON.stringify(r)}\n`);
  process.exit(0);
}

// ---- the PyTorch reference ----
const here = dirname(fileURLToPath(import.meta.url));
const SUBDIR = 'InternVideo2/multi_modality/models/backbones/internvideo2';

/** OpenBLAS's kernel family as @iv2/native picks it, so that numpy, torch and the addon run the same kernels. */
function pickOpenBlasCore() {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.OPENBLAS_CORETYPE) return;
  try {
    const flags = new Set(readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'))?.split(':')[1]?.trim().split(/\s+/));
    if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'fma'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
    else if (['avx2', 'fma'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'Haswell';
  } catch {}
}

/** python3 with torch and the official source, or why the PyTorch column is skipped. */
function findTorch() {
  const python = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!python) return { reason: 'python3 has no torch on this machine (Debian: apt-get install python3-torch)' };
  const version = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
  const dirs = [arg('official'), process.env.IV2_OFFICIAL_REPO, join(here, '../../../../InternVideo')].filter(Boolean);
  const official = dirs.find((d) => existsSync(join(d, 'internvideo2.py')) || existsSync(join(d, SUBDIR, 'internvideo2.py')));
  if (!official) {
    return { reason: `torch ${version} is installed but the official internvideo2.py was not found (pass --official DIR or set IV2_OFFICIAL_REPO to a checkout of github.com/OpenGVLab/InternVideo; looked in ${dirs.join(', ')})` };
  }
  return { python, official, version };
}

function runTorch(ref, spec) {
  const p = spawnSync(ref.python, [join(here, 'torch_reference.py'), '--official', ref.official, '--spec', JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = p.stdout.split('\n').find((l) => l.startsWith('@@'));
  if (!line) throw new Error(p.stderr.split('\n').slice(-8).join('\n'));
  return JSON.parse(line.slice(2));
}

// ---- the table ----
const backends = arg('backends', 'wasm,wasm+native,webgpu,pytorch').split(',');
const jobs = arg('jobs', 'fwd-S,fwd-B,train-B').split(',');
const reps = Number(arg('reps', '1'));
pickOpenBlasCore();
const blas = blasGflops();
console.error(`numpy BLAS: ${blas.toFixed(0)} GFLOP/s (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'auto'})`);
const torchRef = backends.includes('pytorch') ? findTorch() : { reason: 'not asked for (--backends)' };
const torchNote = torchRef.python
  ? `PyTorch ${torchRef.version}: the official PretrainInternVideo2 (${torchRef.official}), plain path (no flash attention, fused MLP or fused RMSNorm), float32, same threads.`
  : `No PyTorch column: ${torchRef.reason}.`;
if (!torchRef.python) console.error(torchNote);
const rows = [];
const ops = [];
const torchSecs = {};
for (const backend of backends) {
  for (const job of jobs) {
    const [kind, model] = job.split('-');
    const train = kind === 'train';
    const batch = Number(arg('batch', train ? 2 : 1));
    const depth = (await import('../dist/index.js')).ARCHITECTURES[NAMES[model]].config.depth;
    const checkpoint = train ? Math.min(depth, Number(arg('checkpoint', batch > 1 ? depth : 0))) : 0;
    const spec = { backend, model, train, reps, frames: arg('frames'), size: arg('size'), batch, checkpoint, threads: arg('threads') ? Number(arg('threads')) : undefined };
    const jobName = `${kind === 'train' ? 'train step' : 'forward'} ${model}/14`;
    const t = Date.now();
    let r;
    if (backend === 'pytorch') {
      if (!torchRef.python) continue;
      try {
        r = runTorch(torchRef, { ...spec, frames: spec.frames ?? (spec.train ? 4 : 8) });
      } catch (e) {
        console.error(`pytorch ${job} failed:\n${e.message}`);
        continue;
      }
      const { ARCHITECTURES, parseConfig } = await import('../dist/index.js');
      const config = parseConfig({ ...ARCHITECTURES[NAMES[model]].config, num_frames: r.frames, img_size: r.size });
      r.flops = modelFlops(config) * r.batch * (spec.train ? 3 : 1);
      torchSecs[`${jobName} ${r.batch}×${r.frames}×${r.size}² ${spec.checkpoint}`] = r.secs;
    } else {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const line = p.stdout.split('\n').find((l) => l.startsWith('@@'));
      if (!line) {
        console.error(`${backend} ${job} failed:\n${p.stderr.split('\n').filter((l) => !/^\s*at /.test(l)).slice(-8).join('\n')}`);
        continue;
      }
      r = JSON.parse(line.slice(2));
    }
    const gflops = r.flops / r.secs / 1e9;
    rows.push({
      backend: backend === 'pytorch' ? `PyTorch ${torchRef.version} CPU` : backend, job: jobName, input: `${r.batch}×${r.frames}×${r.size}²`,
      'checkpointed blocks': spec.train ? String(spec.checkpoint) : '—', threads: backend === 'pytorch' ? `torch ${r.threads}` : r.threads ?? '—',
      's/iter': r.secs, 'model GFLOP/s': gflops, 'BLAS GFLOP/s': blas, 'model/BLAS': gflops / blas, '× PyTorch': '—',
      'peak tensor MiB': r.peakTensorMiB ?? '—', 'wasm heap MiB': r.heapMiB || '—', 'max RSS MiB': r.maxRssMiB, leaked: r.leaked ?? '—',
      'matmuls xnnpack/native/scalar': backend.startsWith('wasm') ? `${r.mm.xnnpack}/${r.mm.native}/${r.mm.builtin}` : '—',
      'element-wise native/tfjs': backend.startsWith('wasm') && r.ew ? `${r.ew.native}/${r.ew.builtin}` : '—',
    });
    if (r.perOp) {
      // Composite kernels (IV2* without a dedicated kernel on that backend) and op scopes (`…__op`) contain kernels
      // that the profile also lists: only leaf kernels are counted.
      const dedicated = { wasm: ['IV2Attention', 'IV2AttentionGrad'], 'wasm+native': ['IV2Linear', 'IV2RmsNorm', 'IV2LayerNorm', 'IV2Gelu', 'IV2GeluGrad', 'IV2Attention', 'IV2AttentionGrad'], webgpu: ['IV2RmsNorm', 'IV2LayerNorm', 'IV2Gelu', 'IV2Attention', 'IV2AttentionGrad'] }[backend] ?? [];
      const top = Object.entries(r.perOp).filter(([k]) => !k.endsWith('__op') && (!k.startsWith('IV2') || dedicated.includes(k))).sort((a, b) => b[1] - a[1]);
      const total = top.reduce((a, [, s]) => a + s, 0);
      ops.push({ backend, job: jobName, ...Object.fromEntries(top.slice(0, 6).map(([k, s], i) => [`#${i + 1}`, `${k} ${s.toFixed(2)} s (${((100 * s) / r.secs).toFixed(0)} %)`])), other: `${(total - top.slice(0, 6).reduce((a, [, s]) => a + s, 0)).toFixed(2)} s` });
    }
    console.error(`${table([rows.at(-1)])}\n(${((Date.now() - t) / 1000).toFixed(0)} s with warm-up)`);
  }
}
for (const row of rows) {
  const ref = torchSecs[`${row.job} ${row.input} ${Number(row['checkpointed blocks']) || 0}`];
  if (ref) row['× PyTorch'] = ref / row['s/iter'];
}
console.log(`BLAS = numpy float32 2048² matmul, same run: ${blas.toFixed(0)} GFLOP/s. Training FLOPs = 3 × forward (checkpointed blocks run their forward once more in backward: that recompute is overhead, not counted). × PyTorch = PyTorch's time / this time, same input. ${torchNote}\n`);
if (rows.length) console.log(table(rows));
console.log('\nPer-op time (kernel wall time from tf.profile; on webgpu kernels are asynchronous and not timed here):\n');
if (ops.length) console.log(table(ops.map((o) => Object.fromEntries(['backend', 'job', '#1', '#2', '#3', '#4', '#5', '#6', 'other'].map((k) => [k, o[k] ?? '']))) ));
process.exit(0);
