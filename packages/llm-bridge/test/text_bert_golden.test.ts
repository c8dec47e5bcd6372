import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BackendName, initBackend, SafetensorsReader } from '@iv2/core';
import { InternVideo2Stage2Text } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, TOL } from './text_helpers.js';

// Golden outputs of the official xbert.py BertForMaskedLM + the InternVideo2_Stage2_visual heads (fixtures/README.md,
// text/bert-tiny), on every backend our machines run. tfjs-node ('tensorflow') cannot install here (its install
// downloads libtensorflow), so it is not in the list.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const CASES = fixtureCases('text', (dir) => existsSync(join(dir, 'io.safetensors')) && 'bert_config' in readJson(dir));

describe.each(BACKENDS)('stage-2 BERT vs the official code (%s)', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  describe.each(CASES)('$title', (fx) => {
    let model: InternVideo2Stage2Text;
    let io: Map<string, tf.Tensor>;
    const cfg = readJson(fx.dir);
    const get = (k: string) => {
      const t = io.get(k);
      if (!t) throw new Error(`${fx.title}: io.safetensors has no '${k}'`);
      return t;
    };
    const check = async (name: string, ours: tf.Tensor) => {
      const e = await maxRelErr(ours, get(name));
      console.log(`${backend} ${fx.title} ${name}: max rel err ${e.toExponential(2)}`);
      expect(e, name).toBeLessThanOrEqual(TOL);
    };

    beforeAll(async () => {
      model = await InternVideo2Stage2Text.fromPretrained(join(fx.dir, 'weights.safetensors'), { config: { bert: cfg.bert_config } });
      io = await readTensors(join(fx.dir, 'io.safetensors'));
    });
    afterAll(() => {
      model?.dispose();
      tf.dispose([...(io?.values() ?? [])]);
    });

    test(`${fx.title}: loads every key by name, nothing unused`, async () => {
      const r = model.loadReport!;
      expect(r.missing).toEqual([]);
      expect(r.unused).toEqual([]);
      expect(r.mismatched).toEqual([]);
      expect(model.config.bert.fusion_layer).toBe(cfg.bert_config.fusion_layer);
      expect(model.config.bert.encoder_width).toBe(cfg.bert_config.encoder_width);
      // Tied entries count once among the trainable parameters, as named_parameters() lists them.
      const names = model.parameters().map((p) => p.name);
      expect(names).not.toContain('text_encoder.cls.predictions.decoder.weight');
      expect(names).toContain('text_encoder.cls.predictions.bias');
    });

    test(`${fx.title}: stateDict() gives back the official keys and values`, async () => {
      const sd = await model.stateDict();
      const r = await SafetensorsReader.open(join(fx.dir, 'weights.safetensors'));
      try {
        expect([...sd.keys()].sort()).toEqual(r.keys().sort());
        for (const k of r.keys()) {
          const ref = await r.get(k);
          const ours = sd.get(k)!;
          expect(ours.shape, k).toEqual(ref.shape);
          expect(Array.from(ours.data), k).toEqual(Array.from(ref.data));
        }
      } finally {
        await r.close();
      }
    });

    test(`${fx.title}: text mode, text_proj, vision_proj`, async () => {
      const { textEmbeds, pooledTextEmbeds } = model.encodeText(get('input_ids'), get('attention_mask'));
      await check('text.last_hidden_state', textEmbeds);
      const tp = model.projectText(textEmbeds);
      await check('text_proj', tp);
      const vp = model.projectVision(get('pooled_vision_embeds'));
      await check('vision_proj', vp);
      tf.dispose([textEmbeds, pooledTextEmbeds, tp, vp]);
    });

    test(`${fx.title}: fusion mode, itm_head, MLM logits`, async () => {
      const mask = get('attention_mask');
      const { textEmbeds } = model.encodeText(get('input_ids'), mask);
      const vision = { visionEmbeds: get('vision_embeds') as tf.Tensor3D, visionAtts: get('vision_atts') };
      const fused = model.fuse({ textEmbeds, attentionMask: mask, ...vision });
      await check('fusion.last_hidden_state', fused);
      const itm = model.itmLogits(fused);
      await check('itm_logits', itm);
      const mlm = model.mlm({
        encoderEmbeds: textEmbeds,
        attentionMask: mask,
        encoderHiddenStates: vision.visionEmbeds,
        encoderAttentionMask: vision.visionAtts,
        mode: 'fusion',
      });
      await check('mlm_logits', mlm.logits);
      tf.dispose([textEmbeds, fused, itm, mlm.logits, mlm.lastHiddenState]);
    });

    test(`${fx.title}: multi_modal mode (all layers in one call)`, async () => {
      const before = tf.memory().numTensors;
      const { lastHiddenState, hiddenStates } = model.text_encoder.bert.forward({
        inputIds: get('input_ids'),
        attentionMask: get('attention_mask'),
        encoderHiddenStates: get('vision_embeds') as tf.Tensor3D,
        encoderAttentionMask: get('vision_atts'),
        mode: 'multi_modal',
        outputHiddenStates: true,
      });
      await check('multi_modal.last_hidden_state', lastHiddenState);
      // The state after the text layers inside the one call is the text-mode output.
      expect(hiddenStates).toHaveLength(model.config.bert.num_hidden_layers + 1);
      await check('text.last_hidden_state', hiddenStates![model.config.bert.fusion_layer]);
      tf.dispose([lastHiddenState, ...hiddenStates!]);
      expect(tf.memory().numTensors).toBe(before);
    });

    test(`${fx.title}: forward leaks no tensors`, () => {
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        const { textEmbeds, pooledTextEmbeds } = model.encodeText(get('input_ids'), get('attention_mask'));
        const fused = model.fuse({ textEmbeds, attentionMask: get('attention_mask'), visionEmbeds: get('vision_embeds') as tf.Tensor3D, visionAtts: get('vision_atts') });
        const e = model.embedText(get('input_ids'), get('attention_mask'));
        tf.dispose([textEmbeds, pooledTextEmbeds, fused, e]);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
