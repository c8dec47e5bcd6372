// LoRA with peft v0.4.0's semantics and files: save → load → merge on a decoder with every projection adapted,
// the saved names checked against a real VideoChat2 state dict (fixtures/llm/videochat2-tiny).
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend, Rng, SafetensorsReader } from '@iv2/core';
import {
  AdapterLoadError,
  LlamaForCausalLM,
  LoraConfigError,
  VIDEOCHAT2_TARGET_MODULES,
  decoderConfig,
  getPeftModel,
  loadAdapter,
  loadDecoderWeights,
  loraConfig,
  saveAdapter,
} from '../src/index.js';
import { FIXTURES } from '../../../test-utils/fixtures.js';
import { BACKENDS, maxRelErr, readJson } from './llm_helpers.js';

const config = decoderConfig('mistral', {
  vocab_size: 50, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 64, sliding_window: 5,
});
const lcfg = loraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: VIDEOCHAT2_TARGET_MODULES });

describe.each(BACKENDS)('LoRA, peft v0.4.0 layout (%s)', (BACKEND) => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-lora-'));
  let base: Map<string, ReturnType<typeof Object>>;
  const ids = () => tf.tensor2d([[1, 5, 9, 13, 2, 7, 30, 41], [0, 0, 3, 4, 5, 6, 7, 8]], [2, 8], 'int32');
  const mask = () => tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1, 1]], [2, 8], 'int32');
  let reference: tf.Tensor;

  beforeAll(async () => {
    await initBackend(BACKEND);
    const lm = new LlamaForCausalLM(config, new Rng(1));
    base = (await lm.stateDict()) as never;
    const peft = getPeftModel(lm, lcfg, new Rng(2));
    // peft starts B at zero; random B makes every adapter change the output.
    const rng = new Rng(3);
    for (const [, l] of peft.loraLayers()) l.loraB!.get('default')!.weight.assign(rng.normalTensor(l.loraB!.get('default')!.weight.shape, 0, 0.2));
    peft.eval();
    reference = peft.forward({ inputIds: ids(), attentionMask: mask() }).logits;
    await saveAdapter(peft, dir);
    peft.dispose();
  });
  afterAll(() => reference?.dispose());

  test('files, key names and shapes as peft writes them', async () => {
    expect(readdirSync(dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const cfgText = readFileSync(join(dir, 'adapter_config.json'), 'utf8');
    const cfg = JSON.parse(cfgText);
    expect(Object.keys(cfg)).toEqual([...Object.keys(cfg)].sort());
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, bias: 'none', inference_mode: true, task_type: 'CAUSAL_LM' });
    expect(cfgText).toContain('"lora_dropout": 0.1,');
    const r = await SafetensorsReader.open(join(dir, 'adapter_model.safetensors'));
    expect(r.metadata).toEqual({ format: 'pt' });
    const keys = r.keys().sort();
    expect(keys).toHaveLength(2 * (7 * config.numHiddenLayers + 1));
    expect(keys).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(r.info('base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight').shape).toEqual([16, 4]);
    expect(r.info('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight').shape).toEqual([4, 48]);
    expect(r.info('base_model.model.lm_head.lora_B.weight').shape).toEqual([50, 4]);
    await r.close();
    // The names are those of a real VideoChat2 checkpoint (`mistral_model.` + peft's in-memory `.default`).
    const official = Object.keys(readJson(join(FIXTURES, 'llm/videochat2-tiny')).weights)
      .filter((k) => k.includes('lora_'))
      .map((k) => k.replace(/^mistral_model\./, '').replace('.default', ''))
      .sort();
    expect(keys).toEqual(official);
  });

  test('load → same logits; merge → same logits (≤ 1e-5); merge_and_unload leaves base keys only', async () => {
    const lm = new LlamaForCausalLM(config, new Rng(99));
    await loadDecoderWeights(lm, base as never);
    const peft = getPeftModel(lm, lcfg, new Rng(5));
    await loadAdapter(peft, dir);
    peft.eval();
    const loaded = peft.forward({ inputIds: ids(), attentionMask: mask() }).logits;
    const eLoad = await maxRelErr(loaded, reference);
    const held = tf.memory().numTensors;
    peft.merge();
    peft.unmerge();
    expect(tf.memory().numTensors).toBe(held);
    peft.merge();
    const merged = peft.forward({ inputIds: ids(), attentionMask: mask() }).logits;
    const eMerge = await maxRelErr(merged, reference);
    // Without the adapters the output differs: the check above cannot pass by accident.
    peft.unmerge();
    for (const [, l] of peft.loraLayers()) l.disableAdapters = true;
    const plain = peft.forward({ inputIds: ids(), attentionMask: mask() }).logits;
    const eOff = await maxRelErr(plain, reference);
    for (const [, l] of peft.loraLayers()) l.disableAdapters = false;
    const unloaded = peft.mergeAndUnload();
    const keys = [...(await unloaded.stateDict()).keys()];
    const out = unloaded.forward({ inputIds: ids(), attentionMask: mask() }).logits;
    const eUnload = await maxRelErr(out, reference);
    console.log(`${BACKEND} lora load ${eLoad} merge ${eMerge} merge_and_unload ${eUnload} (adapters off ${eOff})`);
    expect(eLoad).toBeLessThanOrEqual(1e-6);
    expect(eMerge).toBeLessThanOrEqual(1e-5);
    expect(eUnload).toBeLessThanOrEqual(1e-5);
    expect(eOff).toBeGreaterThan(1e-3);
    expect(keys.some((k) => k.includes('lora_'))).toBe(false);
    expect(keys.sort()).toEqual([...base.keys()].sort());
    tf.dispose([loaded, merged, plain, out]);
    unloaded.dispose();
  });

  test('only adapters train; adapter dropout acts in train mode only', async () => {
    const peft = getPeftModel(new LlamaForCausalLM(config, new Rng(1)), lcfg, new Rng(2));
    const trainable = peft.parameters({ trainable: true }).map((p) => p.name);
    expect(trainable).toHaveLength(2 * (7 * config.numHiddenLayers + 1));
    expect(trainable.every((n) => /\.lora_[AB]\.default\.weight$/.test(n))).toBe(true);
    expect(trainable[0]).toBe('base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight');
    for (const [, l] of peft.loraLayers()) l.loraB!.get('default')!.weight.assign(tf.onesLike(l.loraB!.get('default')!.weight));
    peft.eval();
    const a = peft.forward({ inputIds: ids() }).logits;
    const b = peft.forward({ inputIds: ids() }).logits;
    peft.train();
    const c = peft.forward({ inputIds: ids() }).logits;
    expect(await maxRelErr(a, b)).toBe(0);
    expect(await maxRelErr(c, a)).toBeGreaterThan(1e-4);
    tf.dispose([a, b, c]);
    peft.dispose();
  });

  test('bad adapter folders throw typed errors naming the file or keys', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'iv2-lora-bad-'));
    writeFileSync(join(bad, 'adapter_config.json'), JSON.stringify({ peft_type: 'PREFIX_TUNING' }));
    const peft = getPeftModel(new LlamaForCausalLM(config, new Rng(1)), lcfg);
    await expect(loadAdapter(peft, bad)).rejects.toThrow(LoraConfigError);
    await expect(loadAdapter(peft, bad)).rejects.toThrow(/peft_type/);
    writeFileSync(join(bad, 'adapter_config.json'), readFileSync(join(dir, 'adapter_config.json')));
    await expect(loadAdapter(peft, bad)).rejects.toThrow(AdapterLoadError);
    // An adapter saved for q/v only leaves the other layers without weights.
    const qv = getPeftModel(new LlamaForCausalLM(config, new Rng(1)), loraConfig({ r: 4, targetModules: ['q_proj', 'v_proj'] }));
    await saveAdapter(qv, bad);
    await expect(loadAdapter(peft, bad)).rejects.toThrow(/adapter layers without saved weights: .*k_proj/);
    expect(() => getPeftModel(new LlamaForCausalLM(config), loraConfig({ targetModules: ['nope'] }))).toThrow(LoraConfigError);
    peft.dispose();
    qv.dispose();
  });
});
