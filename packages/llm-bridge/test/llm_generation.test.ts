// Generation beyond the greedy goldens: the logits processors of transformers (repetition penalty, temperature,
// top-k, top-p), seeded sampling, left-padded batches (positions from the mask), stop strings, abort, typed errors,
// and the Qwen2 layout (q/k/v biases, tied lm_head) with config validation.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend, Rng } from '@iv2/core';
import {
  DecoderInputError,
  GenerationError,
  LlamaForCausalLM,
  LlmConfigError,
  Qwen2ForCausalLM,
  applyRepetitionPenalty,
  applyTopK,
  applyTopP,
  decoderConfig,
  generate,
  loadDecoderWeights,
  parseDecoderConfig,
  parseGenerationConfig,
  streamGenerate,
} from '../src/index.js';

const config = decoderConfig('mistral', {
  vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 64, sliding_window: 4,
});

describe('generation', () => {
  let lm: LlamaForCausalLM;
  beforeAll(async () => {
    await initBackend('cpu');
    lm = new LlamaForCausalLM(config, new Rng(4));
    lm.eval();
  });

  test('processors follow transformers: penalty divides positive and multiplies negative scores; top-k keeps ties; top-p keeps the nucleus', () => {
    const s = Float32Array.from([2, -2, 1]);
    applyRepetitionPenalty(s, [0, 1, 1], 2);
    expect([...s]).toEqual([1, -4, 1]);
    const k = Float32Array.from([1, 3, 2, 3]);
    applyTopK(k, 2);
    expect([...k]).toEqual([-Infinity, 3, -Infinity, 3]);
    const p = Float32Array.from([0.5, 0.3, 0.2].map(Math.log));
    applyTopP(p, 0.6);
    expect(p[2]).toBe(-Infinity);
    expect(Number.isFinite(p[0]) && Number.isFinite(p[1])).toBe(true);
  });

  test('seeded sampling is reproducible; top_k = 1 is greedy; temperature changes the draw', async () => {
    const prompt = { inputIds: [[1, 5, 9, 3]] };
    const greedy = await generate(lm, prompt, { maxNewTokens: 12 });
    const a = await generate(lm, prompt, { maxNewTokens: 12, doSample: true, seed: 3, temperature: 1.5, topK: 0 });
    const b = await generate(lm, prompt, { maxNewTokens: 12, doSample: true, seed: 3, temperature: 1.5, topK: 0 });
    const k1 = await generate(lm, prompt, { maxNewTokens: 12, doSample: true, seed: 9, topK: 1 });
    expect(a.sequences).toEqual(b.sequences);
    expect(k1.sequences).toEqual(greedy.sequences);
    expect(a.sequences).not.toEqual(greedy.sequences);
    // A strong penalty forbids repeats in a greedy run of a model that otherwise repeats.
    const pen = await generate(lm, prompt, { maxNewTokens: 12, repetitionPenalty: 1e6 });
    expect(new Set(pen.sequences[0]).size).toBe(12);
  });

  test('a left-padded batch row generates what it generates alone (positions from the mask)', async () => {
    const alone = await generate(lm, { inputIds: [[7, 8, 9]] }, { maxNewTokens: 6, returnStepLogits: true });
    const batch = await generate(
      lm,
      { inputIds: [[1, 2, 3, 4, 5], [0, 0, 7, 8, 9]], attentionMask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]] },
      { maxNewTokens: 6, returnStepLogits: true },
    );
    expect(batch.sequences[1]).toEqual(alone.sequences[0]);
    const v = config.vocabSize;
    let worst = 0;
    batch.stepLogits!.forEach((s, t) => {
      for (let i = 0; i < v; i++) worst = Math.max(worst, Math.abs(s[v + i] - alone.stepLogits![t][i]));
    });
    expect(worst).toBeLessThan(1e-4);
  });

  test('streams steps, stops on stop strings and eos, aborts, and leaks nothing', async () => {
    const words = (ids: number[]) => ids.map((i) => `w${i}`).join(' ');
    const free = await generate(lm, { inputIds: [[1, 5, 9, 3]] }, { maxNewTokens: 8 });
    const target = `w${free.sequences[0][3]}`;
    const before = tf.memory().numTensors;
    const steps: number[] = [];
    const it = streamGenerate(lm, { inputIds: [[1, 5, 9, 3]] }, { maxNewTokens: 8, stopStrings: [target], decode: words });
    let r = await it.next();
    while (!r.done) {
      steps.push(r.value.tokens[0]);
      r = await it.next();
    }
    expect(r.value.stoppedBy[0]).toBe('stop_string');
    expect(steps).toEqual(free.sequences[0].slice(0, free.sequences[0].findIndex((t) => `w${t}` === target) + 1));
    const ac = new AbortController();
    const it2 = streamGenerate(lm, { inputIds: [[1, 5]] }, { maxNewTokens: 50, signal: ac.signal });
    await it2.next();
    ac.abort();
    let r2 = await it2.next();
    while (!r2.done) r2 = await it2.next();
    expect(r2.value.stoppedBy[0]).toBe('aborted');
    expect(r2.value.sequences[0]).toHaveLength(1);
    // Breaking out of the loop early releases the cache too.
    for await (const s of streamGenerate(lm, { inputIds: [[1, 5]] }, { maxNewTokens: 50 })) if (s.step === 2) break;
    expect(tf.memory().numTensors).toBe(before);
  });

  test('bad generation input: typed errors naming the field', async () => {
    await expect(generate(lm, {}, {})).rejects.toThrow(GenerationError);
    await expect(generate(lm, { inputIds: [[1, 2]], attentionMask: [[1]] })).rejects.toThrow(/attentionMask/);
    await expect(generate(lm, { inputIds: [[1, 2]] }, { stopStrings: ['x'] })).rejects.toThrow(/stopStrings/);
    await expect(generate(lm, { inputIds: [[1, 2]] }, { doSample: true, topP: 0 })).rejects.toThrow(/topP/);
    expect(() => lm.forward({ inputIds: tf.tensor2d([[1, 2]], [1, 2], 'int32'), attentionMask: tf.tensor2d([[1, 1, 1]], [1, 3], 'int32') })).toThrow(DecoderInputError);
    expect(() => parseGenerationConfig({ top_p: 2 })).toThrow(/top_p/);
    expect(parseGenerationConfig({ eos_token_id: [2, 32000], do_sample: true, temperature: 0.7, max_new_tokens: 9 })).toEqual({
      eosTokenId: [2, 32000], doSample: true, temperature: 0.7, maxNewTokens: 9,
    });
  });
});

describe('Qwen2 layout and config validation', () => {
  test('q/k/v biases, tied lm_head (logits = h·Eᵀ, gradients reach the embeddings through both uses)', async () => {
    await initBackend('cpu');
    const c = decoderConfig('qwen2', { vocab_size: 30, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, tie_word_embeddings: true });
    const lm = new Qwen2ForCausalLM(c, new Rng(1));
    const keys = [...lm.stateDictShapes().keys()];
    expect(keys).toContain('model.layers.0.self_attn.q_proj.bias');
    expect(keys).toContain('model.layers.0.self_attn.k_proj.bias');
    expect(keys).not.toContain('model.layers.0.self_attn.o_proj.bias');
    expect(keys).not.toContain('lm_head.weight');
    // A checkpoint that stores the tied head too loads (the copy is skipped).
    const sd = await lm.stateDict();
    sd.set('lm_head.weight', sd.get('model.embed_tokens.weight')!);
    await loadDecoderWeights(lm, sd);
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const hidden = lm.model.forward({ inputIds: ids });
    const { logits } = lm.forward({ inputIds: ids });
    const manual = tf.matMul(tf.reshape(hidden, [3, 16]), lm.model.embed_tokens.weight, false, true);
    expect(tf.max(tf.abs(tf.sub(tf.reshape(logits, [3, 30]), manual))).dataSync()[0]).toBeLessThan(1e-6);
    const g = tf.variableGrads(() => tf.sum(lm.forward({ inputIds: ids }).logits) as tf.Scalar, [lm.model.embed_tokens.weight]);
    expect(tf.any(tf.notEqual(g.grads[lm.model.embed_tokens.weight.name], 0)).dataSync()[0]).toBe(1);
    lm.dispose();
  });

  test('config.json errors name the field', () => {
    expect(() => parseDecoderConfig({ model_type: 'mistral', num_attention_heads: 6, num_key_value_heads: 4 }, 'x/config.json')).toThrow(/num_key_value_heads/);
    expect(() => parseDecoderConfig({ model_type: 'llama', hidden_act: 'gelu' }, 'x/config.json')).toThrow(LlmConfigError);
    expect(() => parseDecoderConfig({ model_type: 'llama', rope_scaling: { type: 'linear', factor: 2 } })).toThrow(/rope_scaling/);
    expect(() => parseDecoderConfig({ model_type: 'llama', vocab_size: 'big' })).toThrow(/vocab_size/);
    // Mistral's window is on by default (4096) and off with an explicit null, as Mistral-7B-Instruct-v0.2 ships.
    expect(parseDecoderConfig({ model_type: 'mistral' }).slidingWindow).toBe(4096);
    expect(parseDecoderConfig({ model_type: 'mistral', sliding_window: null }).slidingWindow).toBeNull();
    expect(parseDecoderConfig({ model_type: 'mistral' }).numKeyValueHeads).toBe(8);
  });
});

describe('presets of released checkpoints', () => {
  test('parameter counts equal the published ones, without allocating', async () => {
    const { DECODER_PRESETS, decoderPreset, decoderParameterCount } = await import('../src/index.js');
    expect(decoderParameterCount(decoderPreset('mistralai/Mistral-7B-Instruct-v0.2'))).toBe(7_241_732_096);
    expect(decoderParameterCount(decoderPreset('Qwen/Qwen2-7B-Instruct'))).toBe(7_615_616_512);
    expect(decoderParameterCount(decoderPreset('Qwen/Qwen2-0.5B-Instruct'))).toBe(494_032_768);
    expect(decoderParameterCount(decoderPreset('lmsys/vicuna-7b-v1.5'))).toBe(6_738_415_616);
    expect(decoderPreset('mistralai/Mistral-7B-Instruct-v0.2').slidingWindow).toBeNull();
    expect(decoderPreset('mistralai/Mistral-7B-Instruct-v0.1').slidingWindow).toBe(4096);
    expect(Object.keys(DECODER_PRESETS).length).toBeGreaterThanOrEqual(5);
    expect(() => decoderPreset('nope')).toThrow(LlmConfigError);
  });
});
