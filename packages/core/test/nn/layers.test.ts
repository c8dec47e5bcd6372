import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  AdamW,
  gradsByName,
  initBackend,
  LayerNorm,
  Linear,
  loadStateDict,
  Module,
  PatchConv3d,
  RMSNorm,
  seedDefaultRng,
  StateDictMismatchError,
  type HostTensor,
} from '../../src/index.js';

const G = JSON.parse(readFileSync(new URL('./golden/layers.json', import.meta.url), 'utf8'));
const host = (t: { shape: number[]; data: number[] }): HostTensor => ({ dtype: 'float32', shape: t.shape, data: Float32Array.from(t.data) });
const state = (s: Record<string, { shape: number[]; data: number[] }>) => new Map(Object.entries(s).map(([k, v]) => [k, host(v)]));
const maxAbs = (a: ArrayLike<number>, b: number[]) => Math.max(...b.map((v, i) => Math.abs(a[i] - v)));

beforeAll(() => initBackend('cpu'));

describe('layers equal torch.nn with the same state dict', () => {
  test('Linear', async () => {
    const m = new Linear(6, 5);
    await loadStateDict(m, state(G.linear.state));
    expect(maxAbs(await m.forward(tf.tensor(G.linear.x.data, G.linear.x.shape)).data(), G.linear.y.data)).toBeLessThan(1e-5);
    // stateDict gives back PyTorch's [out, in] layout, values untouched.
    const sd = await m.stateDict();
    expect(sd.get('weight')!.shape).toEqual([5, 6]);
    expect(Array.from(sd.get('weight')!.data)).toEqual(Array.from(Float32Array.from(G.linear.state.weight.data)));
    m.dispose();
  });
  test('LayerNorm', async () => {
    const m = new LayerNorm(6);
    await loadStateDict(m, state(G.layer_norm.state));
    expect(maxAbs(await m.forward(tf.tensor(G.layer_norm.x.data, G.layer_norm.x.shape)).data(), G.layer_norm.y.data)).toBeLessThan(1e-5);
  });
  test('RMSNorm', async () => {
    const m = new RMSNorm(6);
    await loadStateDict(m, state(G.rms_norm.state));
    expect(maxAbs(await m.forward(tf.tensor(G.rms_norm.x.data, G.rms_norm.x.shape)).data(), G.rms_norm.y.data)).toBeLessThan(1e-5);
  });
  test('Conv3d patch embedding (tubelet 2) through the conv3d layout conversion', async () => {
    const m = new PatchConv3d(3, 8, [2, 4, 4]);
    await loadStateDict(m, state(G.patch_embed.state));
    const y5 = m.forward(tf.tensor(G.patch_embed.x.data, G.patch_embed.x.shape) as tf.Tensor5D);
    const [b, t, hp, wp, c] = y5.shape;
    const y = tf.reshape(y5, [b, t, hp * wp, c]);
    expect(y.shape).toEqual(G.patch_embed.y.shape);
    expect(maxAbs(await y.data(), G.patch_embed.y.data)).toBeLessThan(1e-4);
  });
});

class Tiny extends Module {
  readonly fc = this.addModule('fc', new Linear(4, 3));
  readonly norm = this.addModule('norm', new LayerNorm(3));
  forward(x: tf.Tensor) {
    return this.norm.forward(this.fc.forward(x));
  }
}

describe('module tree', () => {
  test('official names, parameter counts, freezing, train/eval', () => {
    const m = new Tiny();
    expect(m.parameters().map((p) => p.name)).toEqual(['fc.weight', 'fc.bias', 'norm.weight', 'norm.bias']);
    expect(m.numParameters()).toBe(4 * 3 + 3 + 3 + 3);
    m.norm.freeze();
    expect(m.parameters({ trainable: true }).map((p) => p.name)).toEqual(['fc.weight', 'fc.bias']);
    expect(m.eval().fc.training).toBe(false);
    m.dispose();
  });

  test('strict loading lists every missing, unexpected and mismatched key', async () => {
    const m = new Tiny();
    const bad = new Map<string, HostTensor>([
      ['fc.weight', { dtype: 'float32', shape: [3, 5], data: new Float32Array(15) }],
      ['extra', { dtype: 'float32', shape: [1], data: new Float32Array(1) }],
    ]);
    const err = await loadStateDict(m, bad).catch((e) => e);
    expect(err).toBeInstanceOf(StateDictMismatchError);
    // fc.weight is mismatched, so it is not loaded either.
    expect([...err.missing].sort()).toEqual(['fc.bias', 'fc.weight', 'norm.bias', 'norm.weight']);
    expect(err.unexpected).toEqual(['extra']);
    expect(err.mismatched).toEqual([{ key: 'fc.weight', expected: [3, 4], got: [3, 5] }]);
    expect(err.message).toMatch(/missing keys \(4\).*unexpected keys \(1\): extra.*fc\.weight expected \[3,4\] got \[3,5\]/);
    m.dispose();
  });

  test('a training step through tf.variableGrads moves the loss, and leaks nothing', async () => {
    // Seeded throughout, and the target comes from a second Tiny so that it is reachable: the bound below is a
    // property of the optimiser, not of a lucky draw.
    seedDefaultRng(7);
    const m = new Tiny();
    const teacher = new Tiny();
    const params = m.parameters({ trainable: true });
    const opt = new AdamW([{ params, weightDecay: 0.01, lrScale: 1 }], { lr: 0.05 });
    const x = tf.randomNormal([8, 4], 0, 1, 'float32', 11);
    const target = tf.tidy(() => teacher.forward(x));
    teacher.dispose();
    const loss = () => tf.mean(tf.square(tf.sub(m.forward(x), target))) as tf.Scalar;
    const first = (await loss().data())[0];
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 20; i++) {
      const { value, grads } = tf.variableGrads(loss, params.map((p) => p.variable));
      opt.apply(gradsByName(params, grads));
      last = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      if (i === 0) expect(tf.memory().numTensors).toBe(before + 2 * params.length); // AdamW moments appear once
    }
    expect(tf.memory().numTensors).toBe(before + 2 * params.length);
    expect(last).toBeLessThan(first * 0.5);
    opt.dispose();
    m.dispose();
    tf.dispose([x, target]);
  });
});
