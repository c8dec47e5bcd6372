// The page's model code in Node (wasm): the training run is a pure function of its definition and leaks nothing,
// its checkpoint and manifest read back to the same model (sizes and vocabulary from the manifest), a checkpoint
// that disagrees with its sizes is refused by name, bad manifests and run definitions name the field, and a
// stage-3 model written as files (LLM folder, stage-3 checkpoint, LoRA adapter folder) loads through the page's
// file path and answers as the model it was written from. The browser side is test/features.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, serializeSafetensors, Rng } from '@iv2/core';
import { getPeftModelStateDict, type PeftModelForCausalLM, serializeLoraConfig } from '@iv2/llm-bridge';
import { beforeAll, describe, expect, test } from 'vitest';
import { ChatFilesError, loadChatFolder, tinyChatModel } from '../src/lib/chat.js';
import { smallMistralTokenizer } from '../src/lib/chat_tokenizer.js';
import { SYNTHETIC_QA_CORPUS } from '../src/lib/chat_corpus.js';
import { blockAttention, perFrameMaps, poolAttention } from '../src/lib/attention.js';
import { demoData, sampleLongVideo } from '../src/lib/data.js';
import { DEMO_RUN, DEMO_VISION, type Stage2RunSpec } from '../src/lib/demo_config.js';
import { ManifestError, manifestArch, manifestTokenizer, parseStage2Manifest } from '../src/lib/manifest.js';
import { parseRunSpec, RunSpecError } from '../src/lib/run_spec.js';
import { embedWindows, videoWindows, pickFrames } from '../src/lib/search.js';
import { demoTokenizer, loadStage2, PresetMismatchError, type Stage2Model, stage2Safetensors } from '../src/lib/stage2.js';
import { Stage2Run } from '../src/lib/train.js';
import { preprocessFrames } from '@iv2/encoder';

const SPEC: Stage2RunSpec = { ...DEMO_RUN, data: { ...DEMO_RUN.data, clipsPerClass: 2 }, train: { ...DEMO_RUN.train, steps: 20, batchSize: 4, evalEvery: 0 } };
/** A trained model and its reloaded copy embed the same sampled windows identically; returns the video, windows and the copy's embeddings. */
async function expectSameEmbeddings(trained: Stage2Model, back: Stage2Model) {
  const v = sampleLongVideo({ seed: 7, size: 32, framesPerClip: 16, count: 2 });
  const w = videoWindows(v.frames.count, v.fps, 4, 2, 1);
  trained.vision.eval();
  trained.text.eval();
  const ea = await embedWindows(trained, v.frames, w);
  const eb = await embedWindows(back, v.frames, w);
  expect(Array.from(eb.embeddings)).toEqual(Array.from(ea.embeddings));
  return { v, w, reloaded: eb };
}

/** `iv2 demo`'s stage-2 sizes: 4-pixel patches, tubelets of 2 frames, layer scale 0.1. */
const TUBELET_SPEC: Stage2RunSpec = {
  ...SPEC,
  arch: {
    vision: { img_size: 32, patch_size: 4, tubelet_size: 2, embed_dim: 64, depth: 2, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 64, num_frames: 4, init_values: 0.1 },
    text: { ...SPEC.arch.text, initializerRange: 0.2 },
  },
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('stage-2 demo training (wasm)', () => {
  test('same seed → same losses; tensor count flat from step to step; checkpoint reads back to the same model', async () => {
    const d = demoData(SPEC.data);
    const tok = demoTokenizer(d);
    const a = new Stage2Run(SPEC, d, tok);
    const b = new Stage2Run(SPEC);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const la = (await a.next()).loss;
      counts.push(tf.memory().numTensors);
      expect((await b.next()).loss).toBe(la);
    }
    expect(counts[2]).toBe(counts[1]);
    expect(Number.isFinite(a.rows[2].loss)).toBe(true);
    const bytes = await a.checkpoint();
    const back = await loadStage2(new Blob([bytes as BlobPart]), tok);
    await expectSameEmbeddings(a.model, back);
    back.vision.dispose();
    back.text.dispose();
    a.dispose();
    b.dispose();
  }, 120_000);

  test('a checkpoint of other sizes is refused, naming the file and the tower', async () => {
    const d = demoData(SPEC.data);
    const tok = demoTokenizer(d);
    const run = new Stage2Run(SPEC, d, tok);
    const bytes = await stage2Safetensors(run.model);
    run.dispose();
    // The same file under a vocabulary of another size: the text tower's word embeddings no longer fit.
    const other = demoTokenizer(demoData({ ...SPEC.data, colors: ['red'] }));
    const file = new File([bytes as BlobPart], 'other.safetensors');
    await expect(loadStage2(file, other)).rejects.toThrow(PresetMismatchError);
    await expect(loadStage2(file, other)).rejects.toThrow(/other\.safetensors does not match the preset "playground demo \(stage 2\)": text tower/);
    await expect(loadStage2(new File([new Uint8Array(16)], 'junk.safetensors'), tok)).rejects.toThrow(/junk\.safetensors/);
  }, 120_000);

  test('iv2 demo sizes (patch 4, tubelet 2): the manifest rebuilds the model from the checkpoint alone; a disagreeing one is refused', async () => {
    const run = new Stage2Run(TUBELET_SPEC);
    await run.next();
    const bytes = await run.checkpoint();
    const manifest = parseStage2Manifest(JSON.stringify(run.manifest()), 'stage2_manifest.json');
    expect(manifest.vision).toMatchObject({ patch_size: 4, tubelet_size: 2, init_values: 0.1 });
    expect(manifest.tokenizer.vocab).toEqual(run.model.tokenizer.vocabulary());
    const tok = manifestTokenizer(manifest);
    expect(tok.encode('a red circle moves left')).toEqual(run.model.tokenizer.encode('a red circle moves left'));
    const back = await loadStage2(new File([bytes as BlobPart], 'model.safetensors'), tok, manifestArch(manifest), 'stage2_manifest.json');
    const { v, w, reloaded: eb } = await expectSameEmbeddings(run.model, back);
    // Frames of one tubelet share their token's map; the best frame is inside the window.
    const video = preprocessFrames(pickFrames(v.frames, w[1].frames), { size: 32 });
    const att = [blockAttention(back.vision, video, 1, 2), poolAttention(back.vision, back.vision.forward(video, { tokensOnly: true }).tokens)];
    for (const a of att) {
      expect(a.shape).toEqual([1, 1 + 2 * 64]);
      const maps = perFrameMaps((await a.data()) as Float32Array, 4, 8, 2);
      expect(maps[1]).toEqual(maps[0]);
      expect(maps[2]).not.toEqual(maps[1]);
    }
    tf.dispose([video, ...att]);
    expect(() => perFrameMaps(new Float32Array(1 + 2 * 64), 4, 8, 1)).toThrow(RangeError);
    expect(w.some((x, i) => x.frames.includes(eb.bestFrame[i]))).toBe(true);
    expect(eb.bestFrame.every((f, i) => w[i].frames.includes(f))).toBe(true);
    // The page's own preset (8-pixel patches, no tubelets), or a manifest that says so, does not fit this file.
    const file = new File([bytes as BlobPart], 'model.safetensors');
    await expect(loadStage2(file, tok)).rejects.toThrow(/model\.safetensors does not match the preset "playground demo \(stage 2\)": vision tower/);
    const wrong = { ...manifest, vision: { ...manifest.vision, patch_size: 8, tubelet_size: 1 } };
    await expect(loadStage2(file, tok, manifestArch(wrong), 'stage2_manifest.json')).rejects.toThrow(/model\.safetensors does not match its manifest stage2_manifest\.json: vision tower/);
    back.vision.dispose();
    back.text.dispose();
    run.dispose();
  }, 120_000);

  test('a bad manifest or run definition names the file and the field', async () => {
    const run = new Stage2Run(SPEC);
    const good = run.manifest();
    run.dispose();
    const bad = (patch: object) => () => parseStage2Manifest({ ...good, ...patch }, 'x/stage2_manifest.json');
    expect(bad({})).not.toThrow();
    expect(() => parseStage2Manifest('{', 'm.json')).toThrow(ManifestError);
    expect(bad({ format: 'other' })).toThrow(/x\/stage2_manifest\.json: format: /);
    expect(bad({ vision: { ...good.vision, patch_size: 0 } })).toThrow(/vision\.patch_size: expected a positive integer/);
    expect(bad({ vision: { ...good.vision, num_heads: 5 } })).toThrow(/vision\.num_heads: embed_dim 64 is not divisible/);
    expect(bad({ vision: { ...good.vision, tubelet_size: 3 } })).toThrow(/vision\.tubelet_size: /);
    expect(bad({ text: { ...good.text, fusionLayer: 9 } })).toThrow(/text\.fusionLayer: 9 exceeds/);
    expect(bad({ tokenizer: { ...good.tokenizer, vocab: ['a', 'b'] } })).toThrow(/tokenizer\.vocab: lacks \[PAD\]/);
    expect(() => parseRunSpec(SPEC)).not.toThrow();
    const badRun = (patch: object) => () => parseRunSpec({ ...SPEC, ...patch }, 'run.json');
    expect(badRun({ train: { ...SPEC.train, batchSize: 1000 } })).toThrow(/run\.json: train\.batchSize: 1000 exceeds the 48 training clips/);
    expect(badRun({ data: { ...SPEC.data, size: 64 } })).toThrow(/data\.size: 64 differs from arch\.vision\.img_size 32/);
    expect(badRun({ arch: { ...SPEC.arch, vision: { ...SPEC.arch.vision, depth: 0 } } })).toThrow(/arch\.vision\.depth/);
    expect(badRun({ train: { ...SPEC.train, lr: 'x' } })).toThrow(RunSpecError);
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
