import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend, mapSourceKeys, SafetensorsReader, type TensorSource } from '@iv2/core';
import { BertInputError, parseQFormerConfig, QFormer, QFormerConfigError, TextCheckpointMismatchError, TextWeightsNotFoundError } from '../src/index.js';
import { FIXTURES, fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, TOL } from './text_helpers.js';

const FX = fixtureCases('llm', (_d, name) => name === 'qformer-tiny')[0];
const WEIGHTS = join(FX.dir, 'weights.safetensors');
const cfg = readJson(FX.dir);
const HEADS = { num_attention_heads: cfg.qf.num_attention_heads };

async function viewed(map: (k: string) => string | null, extra: Record<string, number[]> = {}): Promise<TensorSource & { close(): Promise<void> }> {
  const r = await SafetensorsReader.open(WEIGHTS);
  const v = mapSourceKeys(r, map, 'view');
  // Extra keys a full VideoChat2 checkpoint carries (vision encoder, LLM, LoRA), as header entries only.
  const names = Object.keys(extra);
  return Object.assign(
    {
      keys: () => [...v.keys(), ...names],
      has: (k: string) => v.has(k) || k in extra,
      info: (k: string) => (k in extra ? { dtype: 'F32' as const, shape: extra[k] } : v.info(k)),
      get: async (k: string) => (k in extra ? { dtype: 'float32' as const, shape: extra[k], data: new Float32Array(extra[k].reduce((a, b) => a * b, 1)) } : v.get(k)),
    },
    { close: () => r.close() },
  );
}

describe('Q-Former loading', () => {
  let io: Map<string, tf.Tensor>;
  beforeAll(async () => {
    await initBackend('cpu');
    io = await readTensors(join(FX.dir, 'io.safetensors'));
  });
  afterAll(() => tf.dispose([...io.values()]));

  test('sizes are read off the checkpoint: queries, layers, cross-attention frequency, widths, projector, text input', async () => {
    const m = await QFormer.fromPretrained(WEIGHTS, { config: HEADS });
    try {
      const q = cfg.qf;
      expect(m.config).toMatchObject({
        hidden_size: q.hidden_size,
        num_hidden_layers: q.num_hidden_layers,
        intermediate_size: q.intermediate_size,
        max_position_embeddings: q.max_position_embeddings,
        cross_attention_freq: q.cross_attention_freq,
        num_query_token: q.num_query_token,
        extra_num_query_token: q.extra_num_query_token,
        encoder_width: q.vision_width,
        vocab_size: cfg.qformer_vocab.length,
        qformer_text_input: true,
        vit_add_ln: true,
        projector: 'mistral_proj',
        llm_hidden_size: 40,
      });
      expect(m.loadReport!.unused).toEqual([]);
    } finally {
      m.dispose();
    }
  });

  test('the Vicuna class calls the projector llama_proj; other towers of a full checkpoint are unused', async () => {
    const src = await viewed((k) => k.replace(/^mistral_proj\./, 'llama_proj.'), {
      'vision_encoder.blocks.0.attn.qkv.weight': [3, 2],
      'llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight': [2, 2],
      'qformer.bert.embeddings.position_ids': [1, 32],
    });
    try {
      const m = await QFormer.fromPretrained(src, { config: HEADS });
      expect(m.config.projector).toBe('llama_proj');
      expect([...m.loadReport!.unused].sort()).toEqual(['llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight', 'vision_encoder.blocks.0.attn.qkv.weight']);
      const keys = [...(await m.stateDict()).keys()];
      expect(keys).toContain('llama_proj.weight');
      expect(keys).not.toContain('mistral_proj.weight');
      const out = m.encodeImg(io.get('vision_tokens')!, { inputIds: io.get('text.qformer_input_ids')!, attentionMask: io.get('text.qformer_attention_mask')! });
      expect(await maxRelErr(out.projected, io.get('text.projected')!)).toBeLessThanOrEqual(TOL);
      tf.dispose([out.projected, out.queryOutput, out.visionEmbeds]);
      m.dispose();
    } finally {
      await src.close();
    }
  });

  test('stateDict() of the instruction-input Q-Former gives back every stored key and value', async () => {
    const m = await QFormer.fromPretrained(WEIGHTS, { config: HEADS });
    const r = await SafetensorsReader.open(WEIGHTS);
    try {
      const sd = await m.stateDict();
      expect([...sd.keys()].sort()).toEqual(r.keys().sort());
      for (const k of r.keys()) expect(Array.from(sd.get(k)!.data), k).toEqual(Array.from((await r.get(k)).data));
    } finally {
      await r.close();
      m.dispose();
    }
  });

  test('a config that does not fit the checkpoint: TextCheckpointMismatchError; unknown preset: QFormerConfigError', async () => {
    const err = await QFormer.fromPretrained(WEIGHTS, { config: { ...HEADS, intermediate_size: 48 } }).catch((e) => e);
    expect(err).toBeInstanceOf(TextCheckpointMismatchError);
    expect(err.message).toMatch(/intermediate_query\.dense\.weight \[64,32\] vs model \[48,32\]/);
    await expect(QFormer.fromPretrained(WEIGHTS, { preset: 'VideoChat3' })).rejects.toThrow(QFormerConfigError);
    await expect(QFormer.fromPretrained(join(FIXTURES, 'text', 'bert-tiny', 'weights.safetensors'))).rejects.toThrow(TextWeightsNotFoundError);
    expect(() => parseQFormerConfig({ hidden_size: 30, num_attention_heads: 4 })).toThrow(/num_attention_heads/);
    expect(parseQFormerConfig({}).vocab_size).toBe(30523);
  });

  test('inputs that do not fit: BertInputError', async () => {
    const withText = await QFormer.fromPretrained(WEIGHTS, { config: HEADS });
    const noText = await QFormer.fromPretrained(WEIGHTS, { config: { ...HEADS, qformer_text_input: false } });
    try {
      const v = io.get('vision_tokens')!;
      const ids = io.get('text.qformer_input_ids')!;
      expect(() => withText.encodeImg(v)).toThrow(BertInputError);
      expect(() => noText.encodeImg(v, { inputIds: ids })).toThrow(/qformer_text_input/);
      expect(() => noText.encodeImg(tf.zeros([2, 4, 6, 32]))).toThrow(/encoder_width|\[B, T, L, 24\]/);
      // [B, T·L, C] is accepted as well as [B, T, L, C].
      const flat = noText.encodeImg(tf.reshape(v, [2, 24, 24]));
      expect(await maxRelErr(flat.projected, io.get('notext.projected')!)).toBeLessThanOrEqual(TOL);
      tf.dispose([flat.projected, flat.queryOutput, flat.visionEmbeds]);
    } finally {
      withText.dispose();
      noText.dispose();
    }
  });
});
