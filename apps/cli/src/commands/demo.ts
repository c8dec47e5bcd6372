import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, describeBackend, initBackend } from '@iv2/core';
import { frameIndices, loadClassificationAnno, openVideo, writeSyntheticDataset } from '@iv2/data';
import { preprocessFrames, VideoEncoder } from '@iv2/encoder';

/** A small InternVideo2 (official architecture, reduced sizes) that runs in seconds on a CPU. */
export const DEMO_CONFIG = {
  img_size: 56, patch_size: 14, embed_dim: 96, depth: 4, num_heads: 6, mlp_ratio: 4, attn_pool_num_heads: 6,
  clip_embed_dim: 64, num_frames: 4,
};

export interface DemoResult {
  backend: string;
  clips: number;
  classes: number;
  top1: number;
  chance: number;
  colorAcc: number;
  motionAcc: number;
  clipsPerSecond: number;
}

async function embedAll(enc: VideoEncoder, videos: string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const size = enc.config.img_size;
  for (const path of videos) {
    const src = await openVideo(path);
    const idx = frameIndices({ numFrames: enc.config.num_frames, numVideoFrames: src.info.numFrames, sample: 'middle' });
    const frames = await src.readFrames(idx, { width: size, height: size });
    await src.close();
    const video = preprocessFrames(frames, { size });
    const z = enc.embed(video);
    out.push((await z.data()) as Float32Array);
    tf.dispose([video, z]);
  }
  return out;
}

const cos = (a: Float32Array, b: Float32Array) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
};

/** Writes the synthetic dataset, embeds every clip and classifies the held-out clips by nearest training clip. */
export async function runDemo(opts: { dir?: string; backend?: BackendName; seed?: number; log?: (s: string) => void }): Promise<DemoResult> {
  const log = opts.log ?? console.log;
  const backend = await initBackend(opts.backend ?? 'auto');
  const d = await describeBackend();
  log(`backend     ${backend}${d.adapter ? ` (${d.adapter.vendor} ${d.adapter.architecture})` : ''}`);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'iv2-demo-'));
  const manifest = await writeSyntheticDataset({
    dir, clipsPerClass: 3, heldOutPerClass: 1, colors: ['red', 'blue'], motions: ['left', 'right'], seed: opts.seed ?? 0,
  });
  log(`dataset     ${manifest.counts.train + manifest.counts.test} clips of ${manifest.classes.length} classes (${manifest.width}×${manifest.height}, ${manifest.numFrames} frames) in ${dir}`);
  const root = { dataRoot: join(dir, manifest.videoRoot), classes: manifest.classes };
  const train = await loadClassificationAnno(join(dir, manifest.files.classification.train), root);
  const test = await loadClassificationAnno(join(dir, manifest.files.classification.test), root);
  const enc = VideoEncoder.create({ config: DEMO_CONFIG, seed: opts.seed ?? 0 });
  log(`encoder     InternVideo2 ${DEMO_CONFIG.depth}×${DEMO_CONFIG.embed_dim}, ${(enc.numParameters() / 1e6).toFixed(2)} M parameters, untrained (random weights)`);
  const t0 = performance.now();
  const zTrain = await embedAll(enc, train.media);
  const zTest = await embedAll(enc, test.media);
  const seconds = (performance.now() - t0) / 1000;
  enc.dispose();
  let hit = 0, color = 0, motion = 0;
  test.labels.forEach((label, i) => {
    let best = -1, bestSim = -Infinity;
    zTrain.forEach((z, j) => {
      const c = cos(zTest[i], z);
      if (c > bestSim) [best, bestSim] = [j, c];
    });
    const want = manifest.classes[label].split(' ');
    const got = manifest.classes[train.labels[best]].split(' ');
    hit += Number(got.join(' ') === want.join(' '));
    color += Number(got[1] === want[1]);
    motion += Number(got[got.length - 1] === want[want.length - 1]);
  });
  const n = test.labels.length;
  const r: DemoResult = {
    backend, clips: zTrain.length + n, classes: manifest.classes.length, top1: hit / n, chance: 1 / manifest.classes.length,
    colorAcc: color / n, motionAcc: motion / n, clipsPerSecond: (zTrain.length + n) / seconds,
  };
  log(`features    ${r.clips} clips embedded at ${r.clipsPerSecond.toFixed(1)} clips/s`);
  log(`1-NN        held-out top-1 ${(100 * r.top1).toFixed(1)}% (chance ${(100 * r.chance).toFixed(1)}%; untrained weights sit near chance), colour ${(100 * r.colorAcc).toFixed(0)}%, motion ${(100 * r.motionAcc).toFixed(0)}%`);
  return r;
}

export const demo = defineCommand({
  meta: { name: 'demo', description: 'Embed the synthetic video–text dataset and classify held-out clips by nearest neighbour' },
  args: {
    dir: { type: 'string', description: 'Where to write the dataset (default: a temporary folder)' },
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'auto' },
    seed: { type: 'string', description: 'Seed of the dataset and the model', default: '0' },
    json: { type: 'boolean', description: 'Print the result as JSON at the end', default: false },
  },
  async run({ args }) {
    const r = await runDemo({ dir: args.dir, backend: args.backend as BackendName, seed: Number(args.seed) });
    if (args.json) console.log(JSON.stringify(r));
  },
});
