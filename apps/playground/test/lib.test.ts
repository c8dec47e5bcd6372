// The page's model code in Node (wasm): the training run is a pure function of its seed and leaks nothing, its
// checkpoint reads back, a checkpoint of other sizes is refused by name, and a stage-3 model written as files
// (LLM folder, stage-3 checkpoint, LoRA adapter folder) loads through the page's file path and answers as the
// model it was written from. The browser side is test/features.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, serializeSafetensors, Rng } from '@iv2/core';
import { getPeftModelStateDict, type PeftModelForCausalLM, serializeLoraConfig } from '@iv2/llm-bridge';
import { beforeAll, describe, expect, test } from 'vitest';
import { ChatFilesError, loadChatFolder, tinyChatModel } from '../src/lib/chat.js';
import { smallMistralTokenizer } from '../src/lib/chat_tokenizer.js';
import { SYNTHETIC_QA_CORPUS } from '../src/lib/chat_corpus.js';
import { demoData, sampleLongVideo } from '../src/lib/data.js';
import { DEMO_TRAIN, DEMO_VISION } from '../src/lib/demo_config.js';
import { embedWindows, videoWindows, pickFrames } from '../src/lib/search.js';
import { demoTokenizer, loadDemoStage2, PresetMismatchError, stage2Safetensors } from '../src/lib/stage2.js';
import { Stage2Run } from '../src/lib/train.js';

const SETTINGS = { ...DEMO_TRAIN, steps: 20, batchSize: 4, evalEvery: 0 };

beforeAll(async () => {
  await initBackend('wasm');
});

describe('stage-2 demo training (wasm)', () => {
  test('same seed → same losses; tensor count flat from step to step; checkpoint reads back to the same model', async () => {
    const d = demoData({ seed: 0, clipsPerClass: 2, size: 32, numFrames: 4 });
    const tok = demoTokenizer(d);
    const a = new Stage2Run(d, tok, SETTINGS);
    const b = new Stage2Run(d, tok, SETTINGS);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const la = (await a.next()).loss;
      counts.push(tf.memory().numTensors);
      expect((await b.next()).loss).toBe(la);
    }
    expect(counts[2]).toBe(counts[1]);
    expect(Number.isFinite(a.rows[2].loss)).toBe(true);
    const bytes = await a.checkpoint();
    const back = await loadDemoStage2(new Blob([bytes as BlobPart]), tok);
    const v = sampleLongVideo({ seed: 7, size: 32, framesPerClip: 16, count: 2 });
    const w = videoWindows(v.frames.count, v.fps, 4, 2, 1);
    a.model.vision.eval();
    a.model.text.eval();
    const ea = await embedWindows(a.model, v.frames, w);
    const eb = await embedWindows(back, v.frames, w);
    expect(Array.from(eb.embeddings)).toEqual(Array.from(ea.embeddings));
    back.vision.dispose();
    back.text.dispose();
    a.dispose();
    b.dispose();
  }, 120_000);

  test('a checkpoint of other sizes is refused, naming the file and the tower', async () => {
    const d = demoData({ seed: 0, clipsPerClass: 2, size: 32, numFrames: 4 });
    const tok = demoTokenizer(d);
    const run = new Stage2Run(d, tok, SETTINGS);
    const bytes = await stage2Safetensors(run.model);
    run.dispose();
    // The same file under a vocabulary of another size: the text tower's word embeddings no longer fit.
    const other = demoTokenizer(demoData({ seed: 0, clipsPerClass: 2, size: 32, numFrames: 4, colors: ['red'] }));
    const file = new File([bytes as BlobPart], 'other.safetensors');
    await expect(loadDemoStage2(file, other)).rejects.toThrow(PresetMismatchError);
    await expect(loadDemoStage2(file, other)).rejects.toThrow(/other\.safetensors.*text tower/);
    await expect(loadDemoStage2(new File([new Uint8Array(16)], 'junk.safetensors'), tok)).rejects.toThrow(/junk\.safetensors/);
  }, 120_000);
});

describe('stage-3 model from files (wasm)', () => {
  test('LLM folder + stage-3 checkpoint + LoRA adapter folder answer as the model they were written from', async () => {
    const tiny = await tinyChatModel({ ...DEMO_VISION } as never, 3);
    const m = tiny.model;
    // Give the adapter weights that matter (LoRA B starts at zero).
    const rng = new Rng(9);
    for (const p of m.parameters()) if (p.name.includes('lora_B')) p.variable.assign(rng.normalTensor(p.variable.shape, 0, 0.5));
    const sd = await m.stateDict();
    const lm = await m.lm.stateDict();
    const f32 = (t: { shape: number[]; data: unknown }) => ({ dtype: 'float32' as const, shape: t.shape, data: t.data as Float32Array });
    const llmWeights = new Map([...lm].filter(([k]) => !k.includes('lora_')).map(([k, t]) => [k, f32(t)]));
    const stage3 = new Map([...sd].filter(([k]) => !k.startsWith('mistral_model.')).map(([k, t]) => [k, f32(t)]));
    const adapter = new Map([...(await getPeftModelStateDict(m.mistral_model as PeftModelForCausalLM))].map(([k, t]) => [k, f32(t)]));
    const tk = smallMistralTokenizer(SYNTHETIC_QA_CORPUS);
    const c = m.lm.config;
    const config = {
      model_type: 'mistral', vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize, num_hidden_layers: c.numHiddenLayers,
      num_attention_heads: c.numAttentionHeads, num_key_value_heads: c.numKeyValueHeads, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 1e6,
      sliding_window: null, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
    };
    const json = (o: unknown) => new Blob([JSON.stringify(o)]);
    const files = {
      llm: { 'config.json': json(config), 'tokenizer.json': json(tk.json), 'tokenizer_config.json': json(tk.config), 'model.safetensors': new Blob([serializeSafetensors(llmWeights, { format: 'pt' }) as BlobPart]) },
      stage3: new File([serializeSafetensors(stage3, { format: 'pt' }) as BlobPart], 'videochat2_tiny.safetensors'),
      numFrames: DEMO_VISION.num_frames,
      visionConfig: { ...DEMO_VISION },
      adapter: { 'adapter_config.json': new Blob([serializeLoraConfig((m.mistral_model as PeftModelForCausalLM).peftConfig.get('default')!)]), 'adapter_model.safetensors': new Blob([serializeSafetensors(adapter, { format: 'pt' }) as BlobPart]) },
    };
    const loaded = await loadChatFolder(files);
    const v = sampleLongVideo({ seed: 7, size: 32, framesPerClip: 16, count: 2 });
    const frames = pickFrames(v.frames, videoWindows(v.frames.count, v.fps, 4, 2, 1)[1].frames);
    const want = await tiny.ask(frames, 'Which shape is in the video?', undefined, 12);
    const got = await loadedAsk(loaded, frames);
    expect(got).toBe(want);
    // Without the adapter the answer is the base model's, which the adapter changed.
    const base = await loadChatFolder({ ...files, adapter: undefined });
    const noLora = await loadedAsk(base, frames);
    console.log(`stage-3 from files: "${got}"; without the adapter: "${noLora}"`);
    expect(noLora).not.toBe(want);
    // A folder without config.json, a checkpoint that is not VideoChat2's: typed errors naming the file.
    await expect(loadChatFolder({ ...files, llm: { ...files.llm, 'config.json': undefined as never } })).rejects.toThrow(ChatFilesError);
    await expect(loadChatFolder({ ...files, stage3: new File([serializeSafetensors(llmWeights) as BlobPart], 'llm.safetensors') })).rejects.toThrow(/llm\.safetensors: no query_tokens/);
    for (const s of [tiny, loaded, base]) s.dispose();
  }, 300_000);
});

function loadedAsk(s: { ask(f: never, q: string, cb: undefined, n: number): Promise<string> }, frames: unknown) {
  return s.ask(frames as never, 'Which shape is in the video?', undefined, 12);
}
