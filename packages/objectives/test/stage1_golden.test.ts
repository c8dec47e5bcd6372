import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BackendName, initBackend, toTorchLayout } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import { FixedTeacher, ReplayDraws, Trainer, UnmaskedTeacherDistillation } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, sameValues } from './helpers.js';

// tfjs-node ('tensorflow') cannot install on our machines (its install downloads libtensorflow): not listed.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const TOL = 1e-4;
const CASES = fixtureCases('objectives', (dir) => readJson(dir).kind === 'stage1');

/** The student's constructor arguments from the fixture's settings (the factory fixes the rest). */
function studentConfig(f: Record<string, number>) {
  return {
    img_size: f.img_size,
    patch_size: 14,
    embed_dim: f.embed_dim,
    depth: f.depth,
    num_heads: f.num_heads,
    mlp_ratio: f.mlp_ratio,
    attn_pool_num_heads: f.attn_pool_num_heads,
    clip_embed_dim: f.clip_embed_dim,
    num_frames: f.num_frames / (f.mae_tubelet_size ?? 2),
    tubelet_size: 1,
    clip_return_layer: f.clip_return_layer,
    clip_teacher_embed_dim: f.clip_teacher_embed_dim,
    clip_teacher_final_dim: f.clip_teacher_final_dim,
    mae_return_layer: f.mae_return_layer,
    mae_teacher_embed_dim: f.mae_teacher_embed_dim,
  };
}

test('there is a stage-1 fixture', () => expect(CASES.length).toBeGreaterThan(0));

describe.each(BACKENDS)('stage 1 (%s)', (BACKEND) => {
  for (const c of CASES) {
    describe(c.title, () => {
      let enc: VideoEncoder;
      let io: Map<string, tf.Tensor>;
      let grads: Map<string, tf.Tensor>;
      let cfg: any;
      beforeAll(async () => {
        await initBackend(BACKEND);
        cfg = readJson(c.dir);
        enc = await VideoEncoder.fromPretrained(join(c.dir, 'weights.safetensors'), { config: studentConfig(cfg.fixture) });
        enc.model.train();
        io = await readTensors(join(c.dir, 'io.safetensors'));
        grads = await readTensors(join(c.dir, 'grads.safetensors'));
      });
      afterAll(() => {
        enc?.dispose();
        tf.dispose([...(io?.values() ?? []), ...(grads?.values() ?? [])]);
      });

      const objective = () =>
        new UnmaskedTeacherDistillation(
          enc.model,
          {
            clip: new FixedTeacher({ middle: io.get('teacher.clip_middle') as tf.Tensor4D, final: io.get('teacher.clip_final') as tf.Tensor2D, attn: io.get('teacher.clip_attn') as tf.Tensor2D }),
            mae: new FixedTeacher({ middle: io.get('teacher.mae') as tf.Tensor4D }),
          },
          { mask_type: 'attention', mask_ratio: cfg.fixture.mask_ratio, td_ratio: cfg.fixture.mae_tubelet_size ?? 2, clip_loss_ratio: [1, 1], mae_loss_ratio: 1 },
          { draws: ReplayDraws.fromTensors(io) },
        );

      test('loads every key of the student', () => {
        expect(enc.loadReport!.missing).toEqual([]);
        expect(enc.loadReport!.unused).toEqual([]);
      });

      // The Trainer's bookkeeping is backend-independent; the gradients themselves are checked on every backend in this suite.
      if (BACKEND === 'cpu') test('the Trainer hands out the same gradients under the official names', async () => {
        const trainer = new Trainer(objective());
        const { grads: g, loss } = await trainer.gradients({ video: io.get('video') as tf.Tensor5D });
        expect(Math.abs(loss - (await io.get('loss')!.data())[0])).toBeLessThan(TOL);
        expect([...g.keys()].sort()).toEqual([...grads.keys()].map((k) => k.slice(5)).sort());
        const infos = new Map(enc.model.namedParameterInfo().map((i) => [i.name, i]));
        for (const [name, t] of g) {
          const torch = toTorchLayout(t, infos.get(name)!.layout);
          expect(await maxRelErr(torch, grads.get(`grad.${name}`)!), name).toBeLessThanOrEqual(TOL);
          tf.dispose([torch, t]);
        }
        trainer.dispose();
      });

      test('mask, outputs, losses and every gradient', async () => {
        const obj = objective();
        const before = tf.memory().numTensors;
        const p = await obj.prepare({ video: io.get('video') as tf.Tensor5D });
        expect(await sameValues(p.mask, io.get('mask')!)).toBe(true);
        const params = obj.parameters();
        let out!: ReturnType<typeof obj.loss>;
        const { value, grads: g } = tf.variableGrads(() => {
          out = obj.loss(p);
          tf.keep(out.total);
          for (const t of [...Object.values(out.parts), ...Object.values(out.extras ?? {})]) tf.keep(t);
          return out.total;
        }, params.map((q) => q.variable));
        const errs: Record<string, number> = {};
        errs['out.clip_middle'] = await maxRelErr(out.extras!.clip_middle, io.get('out.clip_middle')!);
        errs['out.clip_final'] = await maxRelErr(out.extras!.clip_final, io.get('out.clip_final')!);
        errs['out.mae'] = await maxRelErr(out.extras!.mae, io.get('out.mae')!);
        for (const k of ['loss_clip_middle', 'loss_clip_final', 'loss_mae']) errs[k] = await maxRelErr(out.parts[k], io.get(k)!);
        errs.loss = await maxRelErr(value, io.get('loss')!);
        let worstGrad = 0;
        let worstKey = '';
        const infos = new Map(enc.model.namedParameterInfo().map((i) => [i.name, i]));
        const gradKeys = [...grads.keys()];
        expect(gradKeys.length).toBe(cfg.grads ? Object.keys(cfg.grads).length : gradKeys.length);
        for (const key of gradKeys) {
          const name = key.slice('grad.'.length);
          const info = infos.get(name);
          expect(info, name).toBeDefined();
          const mine = g[info!.variable.name];
          expect(mine, name).toBeDefined();
          const torch = toTorchLayout(mine, info!.layout);
          const e = await maxRelErr(torch, grads.get(key)!);
          torch.dispose();
          if (e > worstGrad) [worstGrad, worstKey] = [e, name];
        }
        console.log(`${BACKEND} ${c.title}`, JSON.stringify(Object.fromEntries(Object.entries(errs).map(([k, e]) => [k, Number(e.toExponential(2))]))), `grads ${gradKeys.length}: worst ${worstGrad.toExponential(2)} (${worstKey})`);
        for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
        expect(worstGrad, worstKey).toBeLessThanOrEqual(TOL);
        tf.dispose([value, ...Object.values(g), out.total, ...Object.values(out.parts), ...Object.values(out.extras ?? {})]);
        obj.release(p);
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }
});
