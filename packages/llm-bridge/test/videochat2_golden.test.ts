// The whole stage-3 training forward of the official VideoChat2_it_mistral (fixtures/llm/videochat2-tiny: encode_img,
// the input assembly with the BOS-valued first vector and right padding, LoRA r 4 on every projection and lm_head)
// on every backend: intermediate tensors, the assembled input, labels, logits, loss and the gradients of all 148
// trainable tensors. Data-driven over every fixtures/llm folder with a VideoChat2 config.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend, loadStateDict, SafetensorsReader } from '@iv2/core';
import type { VideoChat2ItMistral } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { BACKENDS, maxRelErr, readIO, readJson, rows } from './llm_helpers.js';
import { buildFixtureModel } from './videochat2_fixture.js';

const TOL = 1e-4;
const CASES = fixtureCases('llm', (dir) => {
  try {
    const c = readJson(dir);
    return 'llm' in c && 'qf' in c && 'samples' in c;
  } catch {
    return false;
  }
});

describe.each(BACKENDS)('VideoChat2 stage-3 forward goldens (%s)', (BACKEND) => {
  beforeAll(async () => {
    await initBackend(BACKEND);
  });

  test('finds the VideoChat2 fixture', () => {
    expect(CASES.map((c) => c.name)).toContain('videochat2-tiny');
  });

  describe.each(CASES)('$title', (fc) => {
    const cfg = readJson(fc.dir);
    let model: VideoChat2ItMistral;
    let io: Map<string, tf.Tensor>;
    const samples = () => cfg.conversations.map((conversation: string, k: number) => ({ conversation, instruction: cfg.instructions[k] }));
    beforeAll(async () => {
      model = buildFixtureModel(fc.dir);
      const src = await SafetensorsReader.open(join(fc.dir, 'weights.safetensors'));
      await loadStateDict(model, src, { sourceName: fc.title, rename: (k) => (k.endsWith('position_ids') ? null : k) });
      await src.close();
      model.eval();
      io = await readIO(fc.dir);
    });
    afterAll(() => {
      model?.dispose();
      tf.dispose([...(io?.values() ?? [])]);
    });

    test(`${fc.title}: the trainable set is the official one, by name and order`, () => {
      const names = model.trainableParameters().map((p) => p.name);
      const firstDiff = names.findIndex((n, i) => n !== cfg.trainable[i]);
      expect(firstDiff === -1 ? null : [firstDiff, names[firstDiff], cfg.trainable[firstDiff]]).toBeNull();
      expect(names).toEqual(cfg.trainable);
    });

    test(`${fc.title}: encode_img, assembled input, labels, logits and loss`, async () => {
      const instr = model.instructionIds(cfg.instructions)!;
      expect(await rows(instr.inputIds)).toEqual(await rows(io.get('qformer_input_ids')!));
      expect(await rows(instr.attentionMask)).toEqual(await rows(io.get('qformer_attention_mask')!));
      tf.dispose([instr.inputIds, instr.attentionMask]);
      // A first call builds the rotary tables (kept for later calls); the second must leave nothing behind.
      tf.dispose(model.forward({ visionTokens: io.get('vision_tokens')!, samples: samples() }) as never);
      const before = tf.memory().numTensors;
      const out = model.forward({ visionTokens: io.get('vision_tokens')!, samples: samples() });
      expect(await rows(out.labels)).toEqual(await rows(io.get('llm.labels')!));
      expect(await rows(out.attentionMask)).toEqual(await rows(io.get('llm.attention_mask')!));
      const errs: Record<string, number> = {
        vision_layernorm: await maxRelErr(out.encoded.visionEmbeds, io.get('vision_layernorm')!),
        query_output: await maxRelErr(out.encoded.queryOutput, io.get('query_output')!),
        projected: await maxRelErr(out.encoded.projected, io.get('projected')!),
        'llm.inputs_embeds': await maxRelErr(out.inputsEmbeds, io.get('llm.inputs_embeds')!),
        'llm.logits': await maxRelErr(out.logits, io.get('llm.logits')!),
        loss: await maxRelErr(await out.loss.data(), io.get('loss')!),
      };
      tf.dispose(out as never);
      expect(tf.memory().numTensors).toBe(before);
      console.log(`${BACKEND} ${fc.title}`, errs);
      for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
    });

    test(`${fc.title}: gradients of every trainable tensor`, async () => {
      const params = model.trainableParameters();
      const { value, grads } = tf.variableGrads(() => model.forward({ visionTokens: io.get('vision_tokens')!, samples: samples() }).loss, params.map((p) => p.variable));
      const errs: Record<string, number> = {};
      for (const p of params) {
        const slot = model.parameterSlot(p.name)!;
        const g = slot.layout === 'linear' ? tf.transpose(grads[p.variable.name]) : grads[p.variable.name];
        errs[p.name] = await maxRelErr(g, io.get(`grad.${p.name}`)!);
        if (g !== grads[p.variable.name]) g.dispose();
      }
      const eLoss = await maxRelErr(tf.reshape(value, [1]), io.get('loss')!);
      tf.dispose([value, ...Object.values(grads)]);
      const worst = Object.entries(errs).sort((a, b) => b[1] - a[1])[0];
      console.log(`${BACKEND} ${fc.title} loss ${eLoss}, ${params.length} gradients, worst ${worst[0]} ${worst[1]}`);
      expect(params.length).toBe(cfg.trainable.length);
      expect(eLoss).toBeLessThanOrEqual(TOL);
      for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
    });
  });
});
