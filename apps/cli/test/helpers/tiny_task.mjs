// A tiny but real training task for the loop's tests: an InternVideo2 (drop path on, so the RNG matters)
// regressing its pooled output onto per-clip targets. Everything is a function of the seed and the batch index.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, warmupCosine } from '@iv2/core';
import { InternVideo2, parseConfig } from '@iv2/encoder';

export const TINY = { img_size: 16, patch_size: 8, embed_dim: 16, depth: 2, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 8, num_frames: 2, drop_path_rate: 0.2 };

export function tinyTask({ seed = 0, batchSize = 4, clips = 12, nan = -1 } = {}) {
  const rng = new Rng(seed);
  const model = new InternVideo2(parseConfig(TINY), rng).train();
  const data = new Rng(seed + 1000);
  const videos = Array.from({ length: clips }, () => Float32Array.from({ length: 3 * 2 * 16 * 16 }, () => data.normal()));
  const targets = Array.from({ length: clips }, () => Float32Array.from({ length: 8 }, () => data.normal()));
  const perEpoch = Math.ceil(clips / batchSize);
  return {
    rng,
    task: {
      stage: 'test',
      batchesPerEpoch: perEpoch,
      modules: () => [['vision_encoder.', model]],
      batch(index) {
        const epoch = Math.floor(index / perEpoch);
        const order = new Rng(seed * 7919 + epoch).shuffle([...Array(clips).keys()]);
        const ids = order.slice((index % perEpoch) * batchSize, (index % perEpoch + 1) * batchSize);
        const x = new Float32Array(ids.length * videos[0].length);
        const y = new Float32Array(ids.length * 8);
        ids.forEach((id, i) => (x.set(videos[id], i * videos[0].length), y.set(targets[id], i * 8)));
        return { files: ids.map((i) => `clip_${i}.mp4`), index, video: tf.tensor5d(x, [ids.length, 3, 2, 16, 16]), target: tf.tensor2d(y, [ids.length, 8]) };
      },
      loss(b) {
        const out = model.forward(b.video);
        let mse = tf.mean(tf.square(tf.sub(out.pooled, b.target)));
        if (b.index === nan) mse = tf.mul(mse, Number.NaN);
        const norm = tf.mean(tf.square(out.pooled));
        return { total: tf.add(mse, tf.mul(norm, 0.01)), parts: { mse, norm } };
      },
      release(b) {
        tf.dispose([b.video, b.target]);
      },
      async evaluate() {
        return { pooled_norm: tf.tidy(() => tf.mean(tf.square(model.forward(tf.ones([1, 3, 2, 16, 16])).pooled)).dataSync()[0]) };
      },
    },
    schedule: (total) => warmupCosine({ base: 3e-3, final: 1e-4, totalSteps: total, warmupSteps: 2 }),
    dispose: () => model.dispose(),
  };
}
