// Generation speed of a small LLaMA-layout decoder (12 layers × 768, 12 heads, SwiGLU 2048, vocab 32000, random
// weights) per backend: prompt (prefill) tokens/s and cached decoding tokens/s, beside the backend's own 1024²
// matmul and the machine's BLAS (numpy) measured in the same run; tensors held before/after to show no per-token
// leak. Usage: node bench/decoder_bench.mjs [--backends wasm,webgpu] [--prompt 32] [--new 32] [--layers 12]
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, Rng } from '@iv2/core';
import { decoderConfig, decoderParameterCount, generate, LlamaForCausalLM } from '../dist/index.js';
import { blasGflops, table, timeIt } from '../../../scripts/bench_utils.mjs';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const backends = arg('backends', 'wasm,webgpu').split(',');
const layers = Number(arg('layers', 12));
const config = decoderConfig('llama', {
  vocab_size: 32000, hidden_size: 768, intermediate_size: 2048, num_hidden_layers: layers, num_attention_heads: 12,
  max_position_embeddings: 2048,
});

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
const params = decoderParameterCount(config);
// Multiply-adds × 2 per decoded token, the embedding lookup excluded.
const flopsPerToken = 2 * (params - config.vocabSize * config.hiddenSize);
for (const backend of backends) {
  await initBackend(backend);
  const software = backend === 'webgpu' && /swiftshader/i.test((await describeBackend()).adapter?.architecture ?? '');
  // SwiftShader (WebGPU on the CPU) runs a shorter prompt and fewer steps unless told otherwise.
  const promptLen = Number(arg('prompt', software ? 8 : 32));
  const newTokens = Number(arg('new', software ? 8 : 32));
  const mm = await matmulGflops();
  const lm = new LlamaForCausalLM(config, new Rng(0));
  lm.eval();
  const rng = new Rng(1);
  const prompt = [Array.from({ length: promptLen }, () => rng.int(3, config.vocabSize))];
  // Prefill alone: one step.
  const prefill = await timeIt(async () => {
    await generate(lm, { inputIds: prompt }, { maxNewTokens: 1 });
  }, 1);
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const r = await generate(lm, { inputIds: prompt }, { maxNewTokens: newTokens });
  const total = (performance.now() - t0) / 1000;
  const after = tf.memory().numTensors;
  const decodeS = Math.max(total - prefill, 1e-9) / Math.max(r.sequences[0].length - 1, 1);
  rows.push({
    backend,
    model: `${layers}×768 (${(params / 1e6).toFixed(0)} M)`,
    prompt: promptLen,
    new: r.sequences[0].length,
    'prefill tok/s': promptLen / prefill,
    'decode tok/s': 1 / decodeS,
    'decode GFLOP/s': flopsPerToken / decodeS / 1e9,
    'matmul 1024² GFLOP/s': mm,
    'BLAS GFLOP/s': blas,
    'tensors before/after': `${before}/${after}`,
  });
  console.error(table([rows[rows.length - 1]]));
  lm.dispose();
}
console.log(table(rows));
process.exit(0);
