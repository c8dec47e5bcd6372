import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { addPrefix, initBackend, mapSourceKeys, SafetensorsReader, type TensorSource } from '@iv2/core';
import {
  BertConfigError,
  BertForMaskedLM,
  BertInputError,
  BertModel,
  InternVideo2Stage2Text,
  parseBertConfig,
  parseStage2TextConfig,
  TextCheckpointMismatchError,
  TextWeightsNotFoundError,
  UnknownTextPresetError,
} from '../src/index.js';
import { FIXTURES, fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, TOL } from './text_helpers.js';

// Loading by official names from the layouts stage-2 checkpoints come in, and the typed errors for what does not fit.
const FX = fixtureCases('text', (_d, name) => name === 'bert-tiny')[0];
const WEIGHTS = join(FX.dir, 'weights.safetensors');
const cfg = readJson(FX.dir);

/** The fixture's weights seen through a key map (`null` drops a key). */
async function viewed(map: (k: string) => string | null): Promise<TensorSource & { close(): Promise<void> }> {
  const r = await SafetensorsReader.open(WEIGHTS);
  const v = mapSourceKeys(r, map, 'view');
  return Object.assign(v, { close: () => r.close() });
}

describe('stage-2 text loading', () => {
  let io: Map<string, tf.Tensor>;
  beforeAll(async () => {
    await initBackend('cpu');
    io = await readTensors(join(FX.dir, 'io.safetensors'));
  });
  afterAll(() => tf.dispose([...io.values()]));

  test('BertModel finds text_encoder.bert.* by itself, reads its sizes off the shapes, reports the rest unused', async () => {
    const m = await BertModel.fromPretrained(WEIGHTS);
    try {
      expect(m.loadReport!.prefix).toBe('text_encoder.bert.');
      expect(m.config).toMatchObject({ vocab_size: 100, hidden_size: 32, num_hidden_layers: 4, fusion_layer: 2, encoder_width: 64, max_position_embeddings: 40 });
      expect(m.loadReport!.missing).toEqual([]);
      expect(m.loadReport!.unused.some((k) => k.startsWith('text_encoder.cls.'))).toBe(true);
      expect(m.loadReport!.unused).toContain('vision_proj.weight');
      // Heads cannot be read off shapes (hidden/64 → 1 here): the fixture's config.json fixes them.
      const m4 = await BertModel.fromPretrained(WEIGHTS, { config: cfg.bert_config });
      const out = m4.forward({ inputIds: io.get('input_ids'), attentionMask: io.get('attention_mask'), mode: 'text' });
      expect(await maxRelErr(out.lastHiddenState, io.get('text.last_hidden_state')!)).toBeLessThanOrEqual(TOL);
      out.lastHiddenState.dispose();
      m4.dispose();
    } finally {
      m.dispose();
    }
  });

  test('BertForMaskedLM finds text_encoder.* (bert + cls)', async () => {
    const m = await BertForMaskedLM.fromPretrained(WEIGHTS, { config: JSON.stringify(cfg.bert_config) });
    try {
      expect(m.loadReport!.prefix).toBe('text_encoder.');
      expect([...m.loadReport!.unused].sort()).toEqual(['itm_head.bias', 'itm_head.weight', 'temp', 'text_proj.bias', 'text_proj.weight', 'vision_proj.bias', 'vision_proj.weight']);
    } finally {
      m.dispose();
    }
  });

  test('a data-parallel `module.` wrapper is found and stripped', async () => {
    const src = await viewed(addPrefix('module.'));
    try {
      const m = await InternVideo2Stage2Text.fromPretrained(src, { config: { bert: cfg.bert_config } });
      expect(m.loadReport!.prefix).toBe('module.');
      expect(m.loadReport!.missing).toEqual([]);
      expect(m.loadReport!.unused).toEqual([]);
      m.dispose();
    } finally {
      await src.close();
    }
  });

  test('an export without the tied duplicates loads and stays tied', async () => {
    const src = await viewed((k) => (k.startsWith('text_encoder.cls.predictions.decoder.') ? null : k));
    try {
      const m = await InternVideo2Stage2Text.fromPretrained(src, { config: { bert: cfg.bert_config } });
      expect(m.loadReport!.missing.sort()).toEqual(['text_encoder.cls.predictions.decoder.bias', 'text_encoder.cls.predictions.decoder.weight']);
      const sd = await m.stateDict();
      expect(Array.from(sd.get('text_encoder.cls.predictions.decoder.weight')!.data)).toEqual(Array.from(sd.get('text_encoder.bert.embeddings.word_embeddings.weight')!.data));
      m.dispose();
    } finally {
      await src.close();
    }
  });

  test('a missing layer key is a TextCheckpointMismatchError naming it; allowMissing accepts it', async () => {
    const gone = 'text_encoder.bert.encoder.layer.3.crossattention.self.key.weight';
    const src = await viewed((k) => (k === gone ? null : k));
    try {
      await expect(InternVideo2Stage2Text.fromPretrained(src, { config: { bert: cfg.bert_config } })).rejects.toThrow(TextCheckpointMismatchError);
      await expect(InternVideo2Stage2Text.fromPretrained(src, { config: { bert: cfg.bert_config } })).rejects.toThrow(gone);
      const m = await InternVideo2Stage2Text.fromPretrained(src, { config: { bert: cfg.bert_config }, allowMissing: true });
      expect(m.loadReport!.missing).toEqual([gone]);
      m.dispose();
    } finally {
      await src.close();
    }
  });

  test('a config that does not match the checkpoint throws TextCheckpointMismatchError with the shapes', async () => {
    const err = await BertModel.fromPretrained(WEIGHTS, { config: { ...cfg.bert_config, intermediate_size: 128 } }).catch((e) => e);
    expect(err).toBeInstanceOf(TextCheckpointMismatchError);
    expect(err.message).toMatch(/encoder\.layer\.0\.intermediate\.dense\.weight \[64,32\] vs model \[128,32\]/);
    const wide = await InternVideo2Stage2Text.fromPretrained(WEIGHTS, { config: { bert: { encoder_width: 48 } } }).catch((e) => e);
    expect(wide).toBeInstanceOf(TextCheckpointMismatchError);
    expect(wide.message).toMatch(/crossattention\.self\.key\.weight \[32,64\] vs model \[32,48\]/);
  });

  test('a file without the text tower: TextWeightsNotFoundError', async () => {
    const enc = join(FIXTURES, 'encoder', 'iv2-tiny', 'weights.safetensors');
    await expect(InternVideo2Stage2Text.fromPretrained(enc)).rejects.toThrow(TextWeightsNotFoundError);
    await expect(BertModel.fromPretrained(enc)).rejects.toThrow(/embeddings\.word_embeddings\.weight/);
  });

  test('configs: config_bert_large.json fields, presets, typed errors', () => {
    const large = parseBertConfig(JSON.stringify({ ...cfg.bert_config, hidden_size: 1024, num_attention_heads: 16, intermediate_size: 4096, num_hidden_layers: 24, fusion_layer: 19 }));
    expect(large.fusion_layer).toBe(19);
    expect((large as Record<string, unknown>).architectures).toEqual(['BertForMaskedLM']);
    expect(() => parseBertConfig({ hidden_size: 30, num_attention_heads: 4 })).toThrow(BertConfigError);
    expect(() => parseBertConfig({ hidden_size: 30, num_attention_heads: 4 })).toThrow(/num_attention_heads/);
    expect(() => parseBertConfig({ num_hidden_layers: 4, fusion_layer: 9 })).toThrow(/fusion_layer/);
    expect(() => parseBertConfig('{oops')).toThrow(BertConfigError);
    const s1 = parseStage2TextConfig({}, 'InternVideo2-Stage2_1B-224p-f4');
    expect(s1).toMatchObject({ embed_dim: 512, vision_width: 768 });
    expect(s1.bert).toMatchObject({ hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, fusion_layer: 19, encoder_width: 1408, vocab_size: 30522 });
    expect(() => parseStage2TextConfig({}, 'InternVideo2-Stage2_2B')).toThrow(UnknownTextPresetError);
  });

  test('inputs that do not fit: BertInputError naming the input', async () => {
    const m = await InternVideo2Stage2Text.fromPretrained(WEIGHTS, { config: { bert: cfg.bert_config } });
    try {
      const ids = io.get('input_ids')!;
      const mask = io.get('attention_mask')!;
      expect(() => m.text_encoder.bert.forward({ inputIds: ids, attentionMask: mask, mode: 'fusion' })).toThrow(BertInputError);
      expect(() => m.text_encoder.bert.forward({ inputIds: ids, attentionMask: mask, mode: 'multi_modal' })).toThrow(/encoderHiddenStates/);
      expect(() => m.text_encoder.bert.forward({ inputIds: ids, mode: 'multi_modal', encoderHiddenStates: tf.zeros([3, 10, 48]) as tf.Tensor3D })).toThrow(/encoder_width/);
      expect(() => m.text_encoder.bert.forward({ inputIds: tf.zeros([3, 41], 'int32'), mode: 'text' })).toThrow(/max_position_embeddings/);
      expect(() => m.text_encoder.bert.forward({ mode: 'text' })).toThrow(/exactly one/);
      expect(() => m.text_encoder.bert.forward({ inputIds: ids, attentionMask: tf.ones([3, 5]), mode: 'text' })).toThrow(/attentionMask/);
    } finally {
      m.dispose();
    }
  });
});
