import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BackendName, initBackend, type ParameterInfo, toTorchLayout } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import { InternVideo2Stage2Text } from '@iv2/llm-bridge';
import { ReplayDraws, Stage2VisualObjective, Trainer } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, sameValues } from './helpers.js';

// tfjs-node ('tensorflow') cannot install on our machines (its install downloads libtensorflow): not listed.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const TOL = 1e-4;
const CASES = fixtureCases('objectives', (dir) => readJson(dir).kind === 'stage2');

/** The vision encoder as `pretrain_internvideo2_1b_patch14_224(config.model)` builds it, at the fixture's sizes. */
function visionConfig(v: Record<string, any>) {
  return {
    img_size: v.img_size,
    patch_size: 14,
    embed_dim: v.embed_dim,
    depth: v.depth,
    num_heads: v.num_heads,
    mlp_ratio: v.mlp_ratio,
    attn_pool_num_heads: v.attn_pool_num_heads,
    clip_embed_dim: v.clip_embed_dim,
    num_frames: v.num_frames,
    tubelet_size: 1,
    sep_image_video_pos_embed: v.sep_image_video_pos_embed,
    clip_return_layer: v.clip_return_layer,
    clip_teacher_embed_dim: v.clip_teacher_embed_dim,
    clip_teacher_final_dim: v.clip_teacher_final_dim,
  };
}

test('there is a stage-2 fixture', () => expect(CASES.length).toBeGreaterThan(0));

describe.each(BACKENDS)('stage 2 (%s)', (BACKEND) => {
  for (const c of CASES) {
    describe(c.title, () => {
      let vision: VideoEncoder;
      let text: InternVideo2Stage2Text;
      let io: Map<string, tf.Tensor>;
      let grads: Map<string, tf.Tensor>;
      let cfg: any;
      beforeAll(async () => {
        await initBackend(BACKEND);
        cfg = readJson(c.dir);
        const weights = join(c.dir, 'weights.safetensors');
        vision = await VideoEncoder.fromPretrained(weights, { config: visionConfig(cfg.fixture.v) });
        // The fixture's BERT config.json (dropouts 0: the model runs in train mode, as the official step does).
        text = await InternVideo2Stage2Text.fromPretrained(weights, { config: { bert: cfg.bert_config } });
        vision.model.train();
        text.train();
        io = await readTensors(join(c.dir, 'io.safetensors'));
        grads = await readTensors(join(c.dir, 'grads.safetensors'));
      });
      afterAll(() => {
        vision?.dispose();
        text?.dispose();
        tf.dispose([...(io?.values() ?? []), ...(grads?.values() ?? [])]);
      });

      test('every key of the stage-2 model is loaded by one of the two towers', () => {
        expect(vision.loadReport!.missing).toEqual([]);
        expect(text.loadReport!.missing).toEqual([]);
        const used = new Set([...vision.loadReport!.loaded.map((k) => `vision_encoder.${k}`), ...text.loadReport!.loaded]);
        for (const k of Object.keys(cfg.weights)) if (!k.endsWith('position_ids')) expect(used.has(k) || Object.keys(cfg.tied).includes(k), k).toBe(true);
      });

      const objective = () => {
        const f = cfg.fixture;
        return new Stage2VisualObjective(
          vision.model,
          text,
          {
            loss_weight: { vtc: 1, vtm: 1, mlm: 1 },
            vtm_hard_neg: true,
            mlm_masking_prob: f.mlm_masking_prob,
            video_mask_type: 'random',
            video_mask_ratio: f.v.video_mask_ratio,
            pad_token_id: cfg.tokens.pad,
            cls_token_id: cfg.tokens.cls,
            mask_token_id: cfg.tokens.mask,
          },
          { draws: ReplayDraws.fromTensors(io) },
        );
      };
      const batch = () => ({
        image: io.get('image') as tf.Tensor5D,
        inputIds: io.get('input_ids') as tf.Tensor2D,
        attentionMask: io.get('attention_mask') as tf.Tensor2D,
        idx: io.get('idx') as tf.Tensor1D,
      });

      // The Trainer's bookkeeping is backend-independent; the gradients themselves are checked on every backend in this suite.
      if (BACKEND === 'cpu') test('the Trainer hands out the same gradients under the official names', async () => {
        const trainer = new Trainer(objective());
        const { grads: g, loss } = await trainer.gradients(batch());
        expect(Math.abs(loss - (await io.get('loss_total')!.data())[0])).toBeLessThan(TOL);
        const reached = [...grads.keys()].map((k) => k.slice(5)).filter((k) => !cfg.params_without_grad.includes(k));
        expect([...g.keys()].sort()).toEqual(reached.sort());
        const infos = new Map<string, ParameterInfo>([
          ...vision.model.namedParameterInfo().map((i) => [`vision_encoder.${i.name}`, i] as [string, ParameterInfo]),
          ...text.namedParameterInfo().map((i) => [i.name, i] as [string, ParameterInfo]),
        ]);
        for (const [name, t] of g) {
          const torch = toTorchLayout(t, infos.get(name)!.layout);
          expect(await maxRelErr(torch, grads.get(`grad.${name}`)!), name).toBeLessThanOrEqual(TOL);
          tf.dispose([torch, t]);
        }
        trainer.dispose();
      });

      test('temp, embeddings, VTM logits, MLM corruption and logits, losses and every gradient', async () => {
        const obj = objective();
        const before = tf.memory().numTensors;
        const p = await obj.prepare(batch());
        expect(await sameValues(p.mlm!.inputIds, io.get('mlm.input_ids')!), 'mlm.input_ids').toBe(true);
        expect(await sameValues(p.mlm!.labels, io.get('mlm.labels')!), 'mlm.labels').toBe(true);
        const errs: Record<string, number> = {};
        errs.temp_used = await maxRelErr(text.temp, io.get('temp_used')!);
        const params = obj.parameters();
        let out!: ReturnType<typeof obj.loss>;
        const { value, grads: g } = tf.variableGrads(() => {
          out = obj.loss(p);
          for (const t of [...Object.values(out.parts), ...Object.values(out.extras ?? {})]) tf.keep(t);
          return out.total;
        }, params.map((q) => q.variable));
        for (const k of ['vision_embeds', 'pooled_vision_embeds', 'text_embeds', 'vision_proj', 'text_proj', 'vtm.itm_logits', 'vtm.weights_t2v', 'vtm.weights_v2t', 'mlm.logits']) {
          errs[k] = await maxRelErr(out.extras![k], io.get(k)!);
        }
        for (const k of ['loss_uta', 'loss_vtc', 'loss_vtm', 'loss_mlm']) errs[k] = await maxRelErr(out.parts[k], io.get(k)!);
        errs.loss_total = await maxRelErr(value, io.get('loss_total')!);
        const infos = new Map<string, ParameterInfo>([
          ...vision.model.namedParameterInfo().map((i) => [`vision_encoder.${i.name}`, i] as [string, ParameterInfo]),
          ...text.namedParameterInfo().map((i) => [i.name, i] as [string, ParameterInfo]),
        ]);
        let worst = 0;
        let worstKey = '';
        const keys = [...grads.keys()];
        expect(keys.length).toBe(Object.keys(cfg.grads).length);
        for (const key of keys) {
          const name = key.slice('grad.'.length);
          const info = infos.get(name);
          expect(info, name).toBeDefined();
          const mine = g[info!.variable.name];
          let e: number;
          if (!mine) {
            // Not reached by any loss: the official gradient is exactly zero.
            expect(cfg.params_without_grad, name).toContain(name);
            const z = tf.zerosLike(grads.get(key)!);
            e = await maxRelErr(z, grads.get(key)!);
            z.dispose();
          } else {
            const torch = toTorchLayout(mine, info!.layout);
            e = await maxRelErr(torch, grads.get(key)!);
            torch.dispose();
          }
          if (e > worst) [worst, worstKey] = [e, name];
        }
        console.log(`${BACKEND} ${c.title}`, JSON.stringify(Object.fromEntries(Object.entries(errs).map(([k, e]) => [k, Number(e.toExponential(2))]))), `grads ${keys.length}: worst ${worst.toExponential(2)} (${worstKey})`);
        for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
        expect(worst, worstKey).toBeLessThanOrEqual(TOL);
        tf.dispose([value, ...Object.values(g), out.total, ...Object.values(out.parts), ...Object.values(out.extras ?? {})]);
        obj.release(p);
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }
});
