import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gradsByName, initBackend, type BackendName } from '@iv2/core';
import { VideoEncoder } from '../src/index.js';
import { maxRelErr, tinyConfig } from './helpers.js';

/** max |a − b| / max |b|: relative to the tensor's scale, however small its entries. */
async function relErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let [d, m] = [0, 0];
  for (let i = 0; i < x.length; i++) [d, m] = [Math.max(d, Math.abs(x[i] - y[i])), Math.max(m, Math.abs(y[i]))];
  return m ? d / m : d;
}

// use_checkpoint / checkpoint_num: same loss and gradients as without, fewer tensors kept by the forward.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const DEPTH = 3;

function make(extra: Record<string, unknown>): VideoEncoder {
  // init_values 1: the residual branches (and so the drop-path draws) weigh as much as the stream.
  const cfg = { ...tinyConfig(), depth: DEPTH, num_frames: 2, drop_path_rate: 0.5, init_values: 1, ...extra };
  const enc = VideoEncoder.create({ config: cfg, seed: 3 });
  enc.model.train();
  return enc;
}

/** Loss over every output (the CLIP heads read blocks 1 and 2), its gradients, and the bytes the forward left. */
function step(enc: VideoEncoder, video: tf.Tensor5D) {
  let keptBytes = 0;
  const before = tf.memory().numBytes;
  const { value, grads } = tf.variableGrads(() => {
    const o = enc.model.forward(video);
    const loss = tf.addN([tf.mean(tf.square(o.pooled!)), tf.mean(tf.square(o.clipAlign!)), tf.mean(tf.square(o.align!))]);
    keptBytes = tf.memory().numBytes - before;
    return loss as tf.Scalar;
  });
  return { value, grads, byName: gradsByName(enc.model.parameters({ trainable: true }), grads), keptBytes };
}

describe.each(BACKENDS)('%s', (BACKEND) => {
  let video: tf.Tensor5D;
  beforeAll(async () => {
    await initBackend(BACKEND);
    video = tf.randomNormal([2, 3, 2, 56, 56], 0, 1, 'float32', 11) as tf.Tensor5D;
  });
  afterAll(() => video?.dispose());

  test.each([1, 2, DEPTH, 0])('checkpoint_num %i: same loss and gradients (drop path 0.5)', async (k) => {
    const ref = make({});
    const ck = make({ use_checkpoint: true, checkpoint_num: k });
    try {
      const a = step(ref, video);
      const b = step(ck, video);
      expect(await relErr(b.value, a.value)).toBeLessThanOrEqual(1e-5);
      const names = [...a.byName.keys()];
      expect([...b.byName.keys()]).toEqual(names);
      expect(names.length).toBe(ref.model.parameters({ trainable: true }).length);
      let worst = 0;
      for (const n of names) worst = Math.max(worst, await relErr(b.byName.get(n)!, a.byName.get(n)!));
      console.log(`${BACKEND} checkpoint_num ${k}: ${names.length} gradients, max rel err ${worst}`);
      expect(worst).toBeLessThanOrEqual(1e-5);
      // The recompute replays the draws and leaves the generator where the forward left it.
      expect(ck.model.blocks.at(0).rng.getState()).toEqual(ref.model.blocks.at(0).rng.getState());
      tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
    } finally {
      ref.dispose();
      ck.dispose();
    }
  });

  test('the forward keeps fewer tensors, only when training under a tape', () => {
    const bytes = (extra: Record<string, unknown>, train = true) => {
      const enc = make(extra);
      if (!train) enc.model.eval();
      const r = step(enc, video);
      tf.dispose([r.value, ...Object.values(r.grads)]);
      enc.dispose();
      return r.keptBytes;
    };
    const none = bytes({});
    const one = bytes({ use_checkpoint: true, checkpoint_num: 1 });
    const all = bytes({ use_checkpoint: true, checkpoint_num: DEPTH });
    console.log(`${BACKEND} bytes kept by the forward: none ${none}, 1 block ${one}, all ${all}`);
    expect(one).toBeLessThan(none);
    expect(all).toBeLessThan(one);
    expect(all).toBeLessThan(0.5 * none);
    expect(bytes({ use_checkpoint: false, checkpoint_num: DEPTH })).toBe(none);
    expect(bytes({ use_checkpoint: true, checkpoint_num: DEPTH }, false)).toBe(bytes({}, false));
  });

  test('no tensors leak across steps; inference is unchanged', async () => {
    const enc = make({ use_checkpoint: true, checkpoint_num: DEPTH });
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = step(enc, video);
      tf.dispose([r.value, ...Object.values(r.grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    const ref = make({});
    enc.model.eval();
    ref.model.eval();
    const [x, y] = [enc.embed(video), ref.embed(video)];
    expect(await maxRelErr(x, y)).toBe(0);
    tf.dispose([x, y]);
    enc.dispose();
    ref.dispose();
  });
});
