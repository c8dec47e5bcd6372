import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  AdamW,
  clipGradNorm,
  clipGradNormAsync,
  GradAccumulator,
  gradsByName,
  initBackend,
  lambdaCosine,
  layerDecayScale,
  type NamedParameter,
  paramGroups,
  warmupCosine,
} from '../../src/index.js';

const G = JSON.parse(readFileSync(new URL('../golden/optim.json', import.meta.url), 'utf8'));
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

beforeAll(() => initBackend('cpu'));

describe('AdamW equals torch.optim.AdamW', () => {
  test('20 steps, two groups (decay / no decay with its own lr)', async () => {
    const a = G.adamw;
    const w: NamedParameter = { name: 'w', variable: tf.variable(tf.tensor(a.init.w, a.shapes.w)) };
    const b: NamedParameter = { name: 'b', variable: tf.variable(tf.tensor(a.init.b, a.shapes.b)) };
    const opt = new AdamW(
      [
        { params: [w], weightDecay: a.weight_decay, lrScale: 1 },
        { params: [b], weightDecay: 0, lrScale: a.lr_b / a.lr },
      ],
      { lr: a.lr, betas: a.betas, eps: a.eps },
    );
    const before = tf.memory().numTensors;
    let worst = 0;
    for (let s = 0; s < 20; s++) {
      const grads = new Map([
        ['w', tf.tensor(a.grads[s].w, a.shapes.w)],
        ['b', tf.tensor(a.grads[s].b, a.shapes.b)],
      ]);
      opt.apply(grads);
      tf.dispose([...grads.values()]);
      worst = Math.max(worst, maxAbs(await w.variable.data(), a.params[s].w), maxAbs(await b.variable.data(), a.params[s].b));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(tf.memory().numTensors).toBe(before + 4); // two moments per parameter, nothing else
    opt.dispose();
  });

  test('state round trip: a resumed optimizer continues bit for bit', async () => {
    const mk = () => ({ name: 'p', variable: tf.variable(tf.tensor([1, -2, 3])) });
    const g = (s: number) => new Map([['p', tf.tensor([0.1 * s, -0.2, 0.3 / (s + 1)])]]);
    const p1 = mk();
    const o1 = new AdamW([{ params: [p1], weightDecay: 0.1, lrScale: 1 }], { lr: 0.01 });
    for (let s = 0; s < 6; s++) o1.apply(g(s));
    const p2 = mk();
    const o2 = new AdamW([{ params: [p2], weightDecay: 0.1, lrScale: 1 }], { lr: 0.01 });
    for (let s = 0; s < 3; s++) o2.apply(g(s));
    const saved = await o2.stateDict();
    const p3 = { name: 'p', variable: tf.variable(tf.tensor(await p2.variable.data())) };
    const o3 = new AdamW([{ params: [p3], weightDecay: 0.1, lrScale: 1 }], { lr: 0.01 });
    o3.loadStateDict(saved);
    for (let s = 3; s < 6; s++) o3.apply(g(s));
    expect(Array.from(await p3.variable.data())).toEqual(Array.from(await p1.variable.data()));
  });
});

test.each([
  ['clipGradNorm', async (g: Map<string, tf.Tensor>, m: number) => clipGradNorm(g, m)],
  ['clipGradNormAsync', clipGradNormAsync],
] as const)('%s equals torch.nn.utils.clip_grad_norm_', async (_name, clip) => {
  for (const c of G.clip) {
    const grads = new Map([
      ['a', tf.tensor(c.a, [3, 3])],
      ['b', tf.tensor(c.b, [7])],
    ]);
    const { grads: out, norm } = await clip(grads, c.max_norm);
    expect(Math.abs(norm - c.norm)).toBeLessThan(1e-5);
    expect(maxAbs(await out.get('a')!.data(), c.a_clipped)).toBeLessThan(1e-6);
    expect(maxAbs(await out.get('b')!.data(), c.b_clipped)).toBeLessThan(1e-6);
    tf.dispose([...out.values()]);
  }
});

describe('schedules equal the official ones at every step', () => {
  test('stage 1: warm-up from 0 (np.linspace), then cosine to the floor', () => {
    const s = G.stage1_cosine;
    const f = warmupCosine({ base: s.base, final: s.final, totalSteps: s.total, warmupSteps: s.warmup });
    expect(maxAbs(s.lr.map((_: number, i: number) => f(i)), s.lr)).toBeLessThan(1e-12);
  });
  test('stage 2: LambdaLR with the min_lr_multi floor, also during warm-up', () => {
    const s = G.stage2_lambda;
    const f = lambdaCosine({ base: s.base, totalSteps: s.total, warmupSteps: s.warmup, minLrMulti: s.floor });
    expect(maxAbs(s.lr.map((_: number, i: number) => f(i)), s.lr)).toBeLessThan(1e-15);
  });
});

describe('parameter groups and accumulation', () => {
  test('no decay for 1-D, biases, position tables, CLS and temperature; layer-wise scales', () => {
    const v = (shape: number[]) => tf.variable(tf.zeros(shape));
    const ps: NamedParameter[] = [
      { name: 'blocks.0.attn.qkv.weight', variable: v([4, 12]) },
      { name: 'blocks.0.norm1.weight', variable: v([4]) },
      { name: 'pos_embed', variable: v([1, 3, 4]) },
      { name: 'cls_token', variable: v([1, 1, 4]) },
      { name: 'temp', variable: v([]) },
      { name: 'clip_projector.cross_attn.q.weight', variable: v([4, 4]) },
      { name: 'patch_embed.proj.weight', variable: v([1, 2, 2, 3, 4]) },
    ];
    const groups = paramGroups(ps, { weightDecay: 0.05, layerScale: layerDecayScale(1, 0.5) });
    const wd = (n: string) => groups.find((g) => g.params.some((p) => p.name === n))!;
    expect(wd('blocks.0.attn.qkv.weight')).toMatchObject({ weightDecay: 0.05, lrScale: 0.5 });
    for (const n of ['blocks.0.norm1.weight', 'pos_embed', 'cls_token', 'temp']) expect(wd(n).weightDecay, n).toBe(0);
    expect(wd('clip_projector.cross_attn.q.weight').lrScale).toBe(1);
    expect(wd('patch_embed.proj.weight')).toMatchObject({ weightDecay: 0.05, lrScale: 0.25 });
  });

  test('GradAccumulator averages micro-batches; gradsByName maps variableGrads back', async () => {
    const p = { name: 'blocks.0.w', variable: tf.variable(tf.tensor([1, 2])) };
    const acc = new GradAccumulator(2);
    let out: Map<string, tf.Tensor> | null = null;
    for (const s of [1, 3]) {
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(p.variable, s)) as tf.Scalar, [p.variable]);
      out = acc.add(gradsByName([p], grads));
    }
    expect(Array.from(await out!.get('blocks.0.w')!.data())).toEqual([2, 2]);
  });
});

describe('training state on disk', () => {
  test('optimizer moments, schedule position and RNG survive a save/load and the run continues bit for bit', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Rng, saveTrainingState, loadTrainingState } = await import('../../src/index.js');
    const sched = warmupCosine({ base: 0.05, final: 0.001, totalSteps: 10, warmupSteps: 2 });
    const run = async (p: NamedParameter, opt: AdamW, rng: InstanceType<typeof Rng>, from: number, to: number) => {
      for (let s = from; s < to; s++) {
        opt.lr = sched(s);
        const g = rng.normalTensor([3]);
        opt.apply(new Map([['p', g]]));
        g.dispose();
      }
    };
    const full = { name: 'p', variable: tf.variable(tf.tensor([1, 2, 3])) };
    await run(full, new AdamW([{ params: [full], weightDecay: 0.05, lrScale: 1 }], { lr: 0 }), new Rng(9), 0, 10);
    const half = { name: 'p', variable: tf.variable(tf.tensor([1, 2, 3])) };
    const o1 = new AdamW([{ params: [half], weightDecay: 0.05, lrScale: 1 }], { lr: 0 });
    const r1 = new Rng(9);
    await run(half, o1, r1, 0, 4);
    const path = join(mkdtempSync(join(tmpdir(), 'iv2-state-')), 'state.safetensors');
    await saveTrainingState(path, { step: 4, optimizer: await o1.stateDict(), rng: r1.getState(), extra: { epoch: 0 } });
    const st = await loadTrainingState(path);
    const resumed = { name: 'p', variable: tf.variable(tf.tensor(await half.variable.data())) };
    const o2 = new AdamW([{ params: [resumed], weightDecay: 0.05, lrScale: 1 }], { lr: 0 });
    o2.loadStateDict(st.optimizer);
    const r2 = new Rng(0);
    r2.setState(st.rng);
    await run(resumed, o2, r2, st.step, 10);
    expect(st.extra).toEqual({ epoch: 0 });
    expect(Array.from(await resumed.variable.data())).toEqual(Array.from(await full.variable.data()));
  });
});
