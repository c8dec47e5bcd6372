import * as tf from '@tensorflow/tfjs-core';
import * as core from '@iv2/core';
import { type BackendName, describeBackend, initBackend } from '@iv2/core';
import { PRESETS, VideoEncoder, extractFeatures } from '@iv2/encoder';
import { poolAttention } from './pool_attention.js';
import { videoElementSource } from './video_element_source.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($('status').textContent = s);

/** The small configuration used for live exploration without downloaded weights. */
export const TINY_CONFIG = {
  img_size: 56, patch_size: 14, embed_dim: 64, depth: 3, num_heads: 4, mlp_ratio: 4,
  attn_pool_num_heads: 4, clip_embed_dim: 32, num_frames: 4,
};

let encoder: VideoEncoder | null = null;

async function startBackend(name: BackendName) {
  status(`starting ${name}…`);
  const used = await initBackend(name, { wasmPaths: new URL('/wasm/', location.href).href });
  $('backend-info').textContent = JSON.stringify(await describeBackend(), null, 2);
  status(`backend ${used} ready`);
  return used;
}

function showModel() {
  if (!encoder) return;
  const c = encoder.config;
  $('model-info').textContent = `${c.depth} blocks × ${c.embed_dim} wide, ${c.num_frames} frames at ${c.img_size}², ${(encoder.numParameters() / 1e6).toFixed(2)} M parameters`;
}

function drawAttention(weights: Float32Array, grid: number) {
  const canvas = $<HTMLCanvasElement>('attention');
  const ctx = canvas.getContext('2d')!;
  const cell = canvas.width / grid;
  const max = Math.max(...weights);
  weights.forEach((w, i) => {
    const v = Math.round(255 * (w / max));
    ctx.fillStyle = `rgb(${v},${Math.round(v * 0.6)},${255 - v})`;
    ctx.fillRect((i % grid) * cell, Math.floor(i / grid) * cell, cell, cell);
  });
}

async function runVideo(file: File) {
  if (!encoder) encoder = VideoEncoder.create({ config: TINY_CONFIG });
  const src = await videoElementSource(URL.createObjectURL(file));
  const rows = $('windows').querySelector('tbody')!;
  rows.textContent = '';
  let prev: Float32Array | null = null;
  for await (const w of extractFeatures(encoder, src, { windowSeconds: Number($<HTMLInputElement>('window').value) })) {
    const norm = Math.hypot(...w.embedding);
    const cos = prev ? w.embedding.reduce((s, v, i) => s + v * prev![i], 0) / (norm * Math.hypot(...prev)) : NaN;
    rows.insertAdjacentHTML('beforeend', `<tr><td>${w.start.toFixed(1)}–${w.end.toFixed(1)} s</td><td>${norm.toFixed(3)}</td><td>${Number.isNaN(cos) ? '' : cos.toFixed(3)}</td></tr>`);
    prev = w.embedding;
  }
  // Attention of the pooling query over the first frame's patches of the first window.
  const c = encoder.config;
  const frames = await src.readFrames([0], { width: c.img_size, height: c.img_size });
  const { preprocessFrames } = await import('@iv2/encoder');
  const video = tf.tile(preprocessFrames(frames, { size: c.img_size }), [1, 1, c.num_frames, 1, 1]) as tf.Tensor5D;
  const out = await encoder.forward(video);
  const grid = c.img_size / c.patch_size;
  const att = poolAttention(encoder.model, out.tokens);
  drawAttention((await att.data()).slice(1, 1 + grid * grid) as Float32Array, grid);
  tf.dispose([video, att, out as never]);
  await src.close();
  status('done');
}

function setup() {
  const presetSelect = $<HTMLSelectElement>('preset');
  for (const name of Object.keys(PRESETS)) presetSelect.add(new Option(name, name));
  $('backend-start').onclick = () => startBackend($<HTMLSelectElement>('backend-select').value as BackendName).catch((e) => status(String(e)));
  $('model-random').onclick = () => {
    encoder?.dispose();
    encoder = VideoEncoder.create({ config: TINY_CONFIG });
    showModel();
  };
  $<HTMLInputElement>('weights').onchange = async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    status(`loading ${file.name}…`);
    encoder?.dispose();
    encoder = await VideoEncoder.fromPretrained(file, { preset: presetSelect.value });
    showModel();
    status(`loaded ${file.name}: ${encoder.loadReport!.loaded.length} tensors, ${encoder.loadReport!.unused.length} unused`);
  };
  $('video-run').onclick = () => {
    const file = $<HTMLInputElement>('video-file').files?.[0];
    if (file) runVideo(file).catch((e) => status(String(e)));
  };
}

setup();
// Exposed for scripted checks of the page.
Object.assign(window, { iv2: { startBackend, VideoEncoder, TINY_CONFIG, tf, core } });
